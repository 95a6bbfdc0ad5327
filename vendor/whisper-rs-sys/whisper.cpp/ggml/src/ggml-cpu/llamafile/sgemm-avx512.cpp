// gijiroku: sgemm.cpp compiled again with AVX-512 (see ggml-cpu/CMakeLists.txt). Its one
// exported function is renamed; llamafile_sgemm calls it when the CPU has AVX-512. Every
// other definition in sgemm.cpp is in an anonymous namespace, so nothing compiled here for
// AVX-512 can be picked by the linker for code that runs on CPUs without it.
#define GGML_SGEMM_IS_AVX512_VARIANT
#define llamafile_sgemm llamafile_sgemm_avx512
#include "sgemm.cpp"
