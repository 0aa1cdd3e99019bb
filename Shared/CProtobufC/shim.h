/* The system's protobuf-c runtime (Debian: libprotobuf-c-dev), as a module
 * for SwiftPM; pkg-config libprotobuf-c supplies the flags. */
#include <protobuf-c/protobuf-c.h>
