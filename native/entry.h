/* Functions of native/entry.c that Python calls. */
int previewer_deferred_mode(void);
