/* Which instruction-set path the float32 kernels take, chosen at run time.
 *
 * Paths (LE_ISA_*): baseline (the SSE2 builds of the activations and cell rows; every product on
 * BLAS), avx2 (AVX2+FMA builds; the products on the own packed GEMM, _packed_gemm.h) and avx512
 * (AVX-512 F/DQ/BW/VL builds of the same code). Every path is compiled into every build (function
 * target attributes, no -march), so the build is portable and a CPU without AVX-512 simply never
 * takes that path.
 *
 * Detection reads CPUID and, for the vector state, XGETBV: the CPU may report AVX or AVX-512 while
 * the OS does not save the registers on a context switch, and then the instructions fault. AVX needs
 * XCR0 bits 1-2 (SSE and AVX state), AVX-512 also bits 5-7 (opmask, ZMM0-15 upper halves, ZMM16-31).
 *
 * The chosen path lives in one int owned by the _isa extension module (lstm_energy.kernels._isa:
 * LSTM_ENERGY_ISA, set_isa); every other extension module that includes this header points its
 * copy of lstm_energy_isa_ptr at that int when it is imported (lstm_energy_isa_bind), so the modules
 * cannot disagree. Unbound (a C harness), the best path the CPU supports is used.
 */
#ifndef LSTM_ENERGY_ISA_H
#define LSTM_ENERGY_ISA_H

#include <stddef.h>

#define LE_ISA_BASELINE 0
#define LE_ISA_AVX2 1
#define LE_ISA_AVX512 2
#define LE_ISA_COUNT 3

#if defined(__GNUC__) && defined(__x86_64__)
#include <cpuid.h>
#define LSTM_ENERGY_X86 1

static inline unsigned long long lstm_energy_xgetbv0(void)
{
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif

/* NULL when the CPU (and OS) can run path `isa`, else the name of the first missing CPU flag or OS
 * state, as /proc/cpuinfo spells the flag ("avx2", "avx512f", ...). */
static inline const char *lstm_energy_isa_missing(int isa)
{
    if (isa == LE_ISA_BASELINE)
        return NULL;
#ifdef LSTM_ENERGY_X86
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return "cpuid";
    if (!(c & (1u << 28)))
        return "avx";
    if (!(c & (1u << 12)))
        return "fma";
    if (!(c & (1u << 27)))
        return "osxsave";
    unsigned long long xcr0 = lstm_energy_xgetbv0();
    if ((xcr0 & 0x6) != 0x6)
        return "xcr0 sse/avx state (OS does not enable the YMM registers)";
    unsigned int a7, b7, c7, d7;
    if (!__get_cpuid_count(7, 0, &a7, &b7, &c7, &d7))
        return "avx2";
    if (!(b7 & (1u << 5)))
        return "avx2";
    if (isa == LE_ISA_AVX2)
        return NULL;
    if (!(b7 & (1u << 16)))
        return "avx512f";
    if (!(b7 & (1u << 17)))
        return "avx512dq";
    if (!(b7 & (1u << 30)))
        return "avx512bw";
    if (!(b7 & (1u << 31)))
        return "avx512vl";
    if ((xcr0 & 0xE0) != 0xE0)
        return "xcr0 opmask/zmm state (OS does not enable the ZMM registers)";
    if (isa == LE_ISA_AVX512)
        return NULL;
    return "unknown path";
#else
    return isa == LE_ISA_AVX2 ? "avx2" : "avx512f";   /* not x86-64 with GCC: only the baseline */
#endif
}

/* the widest path this CPU runs */
static inline int lstm_energy_isa_best(void)
{
    for (int isa = LE_ISA_COUNT - 1; isa > LE_ISA_BASELINE; --isa)
        if (lstm_energy_isa_missing(isa) == NULL)
            return isa;
    return LE_ISA_BASELINE;
}

/* -1: not decided yet (unbound header: the best path, detected on first use) */
static int lstm_energy_isa_local = -1;
static int *lstm_energy_isa_ptr = &lstm_energy_isa_local;

/* point this module at the shared choice (the _isa module's int) */
static inline void lstm_energy_isa_bind(int *shared) { lstm_energy_isa_ptr = shared; }

/* Stores and loads of the choice are atomic (relaxed: the int is the whole message, nothing else is
 * published with it): set_isa may store it from one Python thread while kernels of another read it
 * without the GIL. */
static inline void lstm_energy_isa_set(int *level, int isa) { __atomic_store_n(level, isa, __ATOMIC_RELAXED); }

/* the path the kernels take now: one load (and a compare) per call */
static inline int lstm_energy_isa(void)
{
    int isa = __atomic_load_n(lstm_energy_isa_ptr, __ATOMIC_RELAXED);
    if (__builtin_expect(isa < 0, 0)) {
        isa = lstm_energy_isa_best();
        __atomic_store_n(lstm_energy_isa_ptr, isa, __ATOMIC_RELAXED);
    }
    return isa;
}

/* lstm_energy_isa_best(), asked of the CPU once per module (CPUID traps to the hypervisor in a VM) */
static int lstm_energy_isa_best_known = -1;
static inline int lstm_energy_isa_best_cached(void)
{
    int best = __atomic_load_n(&lstm_energy_isa_best_known, __ATOMIC_RELAXED);
    if (__builtin_expect(best < 0, 0)) {
        best = lstm_energy_isa_best();
        __atomic_store_n(&lstm_energy_isa_best_known, best, __ATOMIC_RELAXED);
    }
    return best;
}

/* The path one kernel call decides on, read once at its start: `requested` (LE_ISA_*, a path the caller
 * sampled once, e.g. the layer that keys its packed-weight cache by it), capped at the widest path this
 * CPU runs, or, when requested < 0, the current choice. A set_isa from another thread during the call
 * then cannot change what the call decided (whether it packs the weights, whether its steps project
 * ahead), only which build of the same micro-kernels runs the products (same panel layout on every path). */
static inline int lstm_energy_isa_for_call(int requested)
{
    if (requested < 0)
        return lstm_energy_isa();
    int best = lstm_energy_isa_best_cached();
    return requested < best ? requested : best;
}

#endif
