#include "CFuzzer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Without -sanitize=fuzzer: feed each file argument (options starting with '-' are
// libFuzzer's and ignored) to the callback once, so a plain build replays a corpus or a
// crash. libFuzzer's own definition replaces this one when it is linked in.
__attribute__((weak)) int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size)) {
    int ran = 0;
    for (int index = 1; index < *argc; index++) {
        const char *path = (*argv)[index];
        if (path[0] == '-') continue;
        FILE *file = fopen(path, "rb");
        if (!file) {
            fprintf(stderr, "cannot open %s\n", path);
            return 1;
        }
        fseek(file, 0, SEEK_END);
        long size = ftell(file);
        fseek(file, 0, SEEK_SET);
        uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
        size_t read = fread(data, 1, (size_t)size, file);
        fclose(file);
        callback(data, read);
        free(data);
        ran++;
    }
    fprintf(stderr, "replayed %d inputs (built without -sanitize=fuzzer: no fuzzing)\n", ran);
    return 0;
}

// libFuzzer's own `main` (linked in by -sanitize=fuzzer) needs this symbol; the Swift
// `main` of each fuzz target runs instead and hands its own callback to
// LLVMFuzzerRunDriver, so this is never called.
__attribute__((weak)) int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    (void)data;
    (void)size;
    return 0;
}
