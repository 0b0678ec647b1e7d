/* cffi declarations of the part of the Orthanc plugin SDK that the previewer
 * uses.  The real definitions come from <orthanc/OrthancCPlugin.h> (package
 * orthanc-dev); "..." lets the compiler fill in values and struct layouts. */

typedef struct _OrthancPluginContext_t OrthancPluginContext;
typedef struct _OrthancPluginRestOutput_t OrthancPluginRestOutput;
typedef struct _OrthancPluginDicomInstance_t OrthancPluginDicomInstance;

typedef enum {
    OrthancPluginErrorCode_InternalError,
    OrthancPluginErrorCode_Success,
    OrthancPluginErrorCode_Plugin,
    OrthancPluginErrorCode_NotImplemented,
    OrthancPluginErrorCode_ParameterOutOfRange,
    OrthancPluginErrorCode_InexistentItem,
    OrthancPluginErrorCode_BadRequest,
    OrthancPluginErrorCode_InexistentFile,
    OrthancPluginErrorCode_BadFileFormat,
    OrthancPluginErrorCode_UnknownResource,
    OrthancPluginErrorCode_Unauthorized,
    OrthancPluginErrorCode_StorageAreaPlugin,
    ...
} OrthancPluginErrorCode;

typedef enum {
    OrthancPluginHttpMethod_Get,
    OrthancPluginHttpMethod_Post,
    OrthancPluginHttpMethod_Put,
    OrthancPluginHttpMethod_Delete,
    ...
} OrthancPluginHttpMethod;

typedef enum {
    OrthancPluginPixelFormat_Grayscale8,
    OrthancPluginPixelFormat_Grayscale16,
    OrthancPluginPixelFormat_SignedGrayscale16,
    OrthancPluginPixelFormat_RGB24,
    OrthancPluginPixelFormat_RGBA32,
    ...
} OrthancPluginPixelFormat;

typedef enum {
    OrthancPluginContentType_Unknown,
    OrthancPluginContentType_Dicom,
    OrthancPluginContentType_DicomAsJson,
    ...
} OrthancPluginContentType;

typedef enum {
    OrthancPluginChangeType_Deleted,
    OrthancPluginChangeType_OrthancStopped,
    ...
} OrthancPluginChangeType;

typedef enum {
    OrthancPluginResourceType_Patient,
    OrthancPluginResourceType_Study,
    OrthancPluginResourceType_Series,
    OrthancPluginResourceType_Instance,
    ...
} OrthancPluginResourceType;

typedef struct {
    void*    data;
    uint32_t size;
} OrthancPluginMemoryBuffer;

typedef struct {
    OrthancPluginHttpMethod method;
    uint32_t                groupsCount;
    const char* const*      groups;
    uint32_t                getCount;
    const char* const*      getKeys;
    const char* const*      getValues;
    const void*             body;
    uint32_t                bodySize;
    uint32_t                headersCount;
    const char* const*      headersKeys;
    const char* const*      headersValues;
    ...;
} OrthancPluginHttpRequest;

typedef OrthancPluginErrorCode (*OrthancPluginRestCallback)(
    OrthancPluginRestOutput*, const char*, const OrthancPluginHttpRequest*);
typedef OrthancPluginErrorCode (*OrthancPluginOnStoredInstanceCallback)(
    const OrthancPluginDicomInstance*, const char*);
typedef OrthancPluginErrorCode (*OrthancPluginOnChangeCallback)(
    OrthancPluginChangeType, OrthancPluginResourceType, const char*);
typedef OrthancPluginErrorCode (*OrthancPluginStorageCreate)(
    const char*, const void*, int64_t, OrthancPluginContentType);
typedef OrthancPluginErrorCode (*OrthancPluginStorageRead)(
    void**, int64_t*, const char*, OrthancPluginContentType);
typedef OrthancPluginErrorCode (*OrthancPluginStorageRemove)(
    const char*, OrthancPluginContentType);

/* --- the seed interface: 37 functions --- */
void OrthancPluginFreeString(OrthancPluginContext*, char*);
int OrthancPluginCheckVersion(OrthancPluginContext*);
void OrthancPluginFreeMemoryBuffer(OrthancPluginContext*, OrthancPluginMemoryBuffer*);
void OrthancPluginLogError(OrthancPluginContext*, const char*);
void OrthancPluginLogWarning(OrthancPluginContext*, const char*);
void OrthancPluginLogInfo(OrthancPluginContext*, const char*);
void OrthancPluginRegisterRestCallback(OrthancPluginContext*, const char*, OrthancPluginRestCallback);
void OrthancPluginRegisterOnStoredInstanceCallback(
    OrthancPluginContext*, OrthancPluginOnStoredInstanceCallback);
void OrthancPluginAnswerBuffer(OrthancPluginContext*, OrthancPluginRestOutput*,
    const void*, uint32_t, const char*);
void OrthancPluginCompressAndAnswerPngImage(OrthancPluginContext*, OrthancPluginRestOutput*,
    OrthancPluginPixelFormat, uint32_t, uint32_t, uint32_t, const void*);
OrthancPluginErrorCode OrthancPluginGetDicomForInstance(OrthancPluginContext*,
    OrthancPluginMemoryBuffer*, const char*);
OrthancPluginErrorCode OrthancPluginRestApiGet(OrthancPluginContext*,
    OrthancPluginMemoryBuffer*, const char*);
OrthancPluginErrorCode OrthancPluginRestApiPost(OrthancPluginContext*,
    OrthancPluginMemoryBuffer*, const char*, const void*, uint32_t);
OrthancPluginErrorCode OrthancPluginRestApiDelete(OrthancPluginContext*, const char*);
OrthancPluginErrorCode OrthancPluginRestApiPut(OrthancPluginContext*,
    OrthancPluginMemoryBuffer*, const char*, const void*, uint32_t);
void OrthancPluginRedirect(OrthancPluginContext*, OrthancPluginRestOutput*, const char*);
char* OrthancPluginLookupPatient(OrthancPluginContext*, const char*);
char* OrthancPluginLookupStudy(OrthancPluginContext*, const char*);
char* OrthancPluginLookupStudyWithAccessionNumber(OrthancPluginContext*, const char*);
char* OrthancPluginLookupSeries(OrthancPluginContext*, const char*);
char* OrthancPluginLookupInstance(OrthancPluginContext*, const char*);
void OrthancPluginSendHttpStatusCode(OrthancPluginContext*, OrthancPluginRestOutput*, uint16_t);
void OrthancPluginSendUnauthorized(OrthancPluginContext*, OrthancPluginRestOutput*, const char*);
void OrthancPluginSendMethodNotAllowed(OrthancPluginContext*, OrthancPluginRestOutput*, const char*);
void OrthancPluginSetCookie(OrthancPluginContext*, OrthancPluginRestOutput*, const char*, const char*);
void OrthancPluginSetHttpHeader(OrthancPluginContext*, OrthancPluginRestOutput*, const char*, const char*);
const char* OrthancPluginGetInstanceRemoteAet(OrthancPluginContext*, const OrthancPluginDicomInstance*);
int64_t OrthancPluginGetInstanceSize(OrthancPluginContext*, const OrthancPluginDicomInstance*);
const void* OrthancPluginGetInstanceData(OrthancPluginContext*, const OrthancPluginDicomInstance*);
char* OrthancPluginGetInstanceJson(OrthancPluginContext*, const OrthancPluginDicomInstance*);
char* OrthancPluginGetInstanceSimplifiedJson(OrthancPluginContext*, const OrthancPluginDicomInstance*);
int OrthancPluginHasInstanceMetadata(OrthancPluginContext*, const OrthancPluginDicomInstance*, const char*);
const char* OrthancPluginGetInstanceMetadata(OrthancPluginContext*, const OrthancPluginDicomInstance*, const char*);
void OrthancPluginRegisterStorageArea(OrthancPluginContext*,
    OrthancPluginStorageCreate, OrthancPluginStorageRead, OrthancPluginStorageRemove);
char* OrthancPluginGetOrthancPath(OrthancPluginContext*);
char* OrthancPluginGetOrthancDirectory(OrthancPluginContext*);
char* OrthancPluginGetConfigurationPath(OrthancPluginContext*);
char* OrthancPluginGetConfiguration(OrthancPluginContext*);

/* --- newer twins and helpers from Orthanc 1.10 that the previewer uses --- */
void OrthancPluginRegisterRestCallbackNoLock(OrthancPluginContext*, const char*, OrthancPluginRestCallback);
const char* OrthancPluginGetErrorDescription(OrthancPluginContext*, OrthancPluginErrorCode);
void OrthancPluginSendHttpStatus(OrthancPluginContext*, OrthancPluginRestOutput*, uint16_t, const char*, uint32_t);
void OrthancPluginExtendOrthancExplorer(OrthancPluginContext*, const char*);
void OrthancPluginRegisterOnChangeCallback(OrthancPluginContext*, OrthancPluginOnChangeCallback);
void OrthancPluginCompressAndAnswerJpegImage(OrthancPluginContext*, OrthancPluginRestOutput*,
    OrthancPluginPixelFormat, uint32_t, uint32_t, uint32_t, const void*, uint8_t);

/* the C allocator: Orthanc frees what a storage-area read callback returns with free() */
void* malloc(size_t);
/* glibc's allocator tuning (see previewer/sdk.py, set_mmap_threshold) */
#define M_MMAP_THRESHOLD ...
#define M_ARENA_MAX ...
int mallopt(int, int);
int malloc_trim(size_t);
