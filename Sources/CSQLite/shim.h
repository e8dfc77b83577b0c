// The system SQLite (Debian's libsqlite3-dev), for the raw-SQLite baseline of rain-bench.
#include <sqlite3.h>
