#ifndef CFUZZER_H
#define CFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for programs with their own `main` (SwiftPM executables).
/// Built with `-sanitize=fuzzer` it is libFuzzer's; otherwise the weak fallback in
/// CFuzzer.c runs every file named on the command line once (a corpus replay).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
