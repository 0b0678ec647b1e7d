/* The output step's two loops, for previewer/pixels/output.py.
 *
 * previewer_gather is the table lookup, out[i] = table[index[i]]: numpy
 * converts an index to intp before it gathers, and this loop does not (0.09
 * against 0.35 ms for a 512x512 frame through a 64 K-entry table).  Each
 * entry of the table is ``item`` bytes: one grey level (1 or 2 bytes) or the
 * channels of one pixel.
 *
 * previewer_window_table fills that table for a LINEAR or LINEAR_EXACT
 * window (PS3.3 C.11.2.1.2.1, C.11.2.1.3.2) over the values a frame uses:
 * the same double arithmetic, in the same order, as pixels/voi.py and
 * output._quantise, so that every entry equals numpy's; one loop instead of
 * a dozen numpy passes, which after the PNG encode of the previous request
 * run on cold caches (0.2 ms for a CT's 5808 values).  Compiled after
 * native/internal.h. */

#define PREVIEWER_GATHER(type)                                        \
    do {                                                              \
        const type* from = (const type*) table;                       \
        type* to = (type*) out;                                       \
        for (size_t i = 0; i < count; i++)                            \
            to[i] = from[index[i]];                                   \
    } while (0)

/* 0 on success, -1 when the sizes are not ones this loop knows. */
int previewer_gather(const uint16_t* index, size_t count, const void* table, size_t entries,
                     size_t item, void* out)
{
    if (entries < 65536)
    {
        /* A smaller table: every index must fall inside it. */
        for (size_t i = 0; i < count; i++)
            if (index[i] >= entries)
                return -1;
    }
    switch (item)
    {
    case 1: PREVIEWER_GATHER(uint8_t); return 0;
    case 2: PREVIEWER_GATHER(uint16_t); return 0;
    case 4: PREVIEWER_GATHER(uint32_t); return 0;
    default:
        for (size_t i = 0; i < count; i++)
            memcpy((char*) out + i * item, (const char*) table + (size_t) index[i] * item, item);
        return 0;
    }
}

/* One window level: PS3.3 C.11.2.1.2.1 (LINEAR, exact == 0; width >= 1) or
 * C.11.2.1.3.2 (LINEAR_EXACT, exact != 0; width > 0), a fraction in 0..1,
 * then rounded half to even to 0..levels and flipped when inverse. */
static double previewer_window_level(double x, int exact, double center, double width,
                                     double levels, int inverse)
{
    double y;
    if (exact)
    {
        y = (x - center) / width + 0.5;
        if (x <= center - width / 2)
            y = 0.0;
        else if (x > center + width / 2)
            y = 1.0;
    }
    else
    {
        double low = center - 0.5 - (width - 1) / 2;
        double high = center - 0.5 + (width - 1) / 2;
        if (width == 1)
            y = x <= low ? 0.0 : 1.0;
        else
        {
            y = (x - (center - 0.5)) / (width - 1) + 0.5;
            if (x <= low)
                y = 0.0;
            else if (x > high)
                y = 1.0;
        }
    }
    y = y < 0.0 ? 0.0 : (y > 1.0 ? 1.0 : y);
    double q = nearbyint(y * levels);
    return inverse ? levels - q : q;
}

/* table[(uint16_t) v] for every v in lo..hi (a 65536-entry table of 1- or
 * 2-byte levels, indexed by the 16-bit pattern of the value); 0 on success,
 * -1 when the arguments are not ones this loop knows. */
int previewer_window_table(long lo, long hi, int exact, double center, double width,
                           int levels, int inverse, void* table, size_t item)
{
    if (lo > hi || hi - lo >= 65536 || lo < -32768 || hi > 65535 || levels < 1 || levels > 65535
        || (item != 1 && item != 2) || (item == 1 && levels > 255)
        || (exact ? !(width > 0) : !(width >= 1)))
        return -1;
    for (long v = lo; v <= hi; v++)
    {
        double q = previewer_window_level((double) v, exact, center, width, (double) levels, inverse);
        uint16_t slot = (uint16_t) v;
        if (item == 1)
            ((uint8_t*) table)[slot] = (uint8_t) q;
        else
            ((uint16_t*) table)[slot] = (uint16_t) q;
    }
    return 0;
}
