/* May this process use Intel AMX tiles for the bf16 and int8 products (issue 18)? CPU, OS, permission.
 *
 * AMX (Sapphire Rapids and later) adds eight tile registers of up to 16 rows x 64 bytes and
 * TDPBF16PS, which adds a 16 x 32 bf16 by 32 x 16 bf16 product into a 16 x 16 float32 tile in one
 * instruction (TDPBUSD: 16 x 64 u8 by 64 x 16 s8 into int32). Using it takes three things:
 *   - the CPU: CPUID leaf 7 EDX bits 24 (amx_tile), 22 (amx_bf16) and 25 (amx_int8);
 *   - the OS saving the tile state: XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA);
 *   - on Linux (5.16+), the process's permission for the 8 KiB XTILEDATA state, asked for once with
 *     arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA); a tile instruction without it raises SIGILL.
 *     The permission holds for every thread of the process, those started later included.
 * lstm_energy_amx_missing() checks all three once (asking for the permission on the first call, from
 * the thread that calls the Python layer, before any OpenMP thread uses a tile) and caches the answer.
 *
 * lstm_energy_amx_wanted: 1 unless switched off (lowp.set_amx(False), LSTM_ENERGY_AMX=off), so that
 * the AVX512_BF16 and VNNI products can still be run and compared on an AMX CPU. Owned by the one
 * module that includes this header (lowp.pyx).
 */
#ifndef LSTM_ENERGY_AMX_H
#define LSTM_ENERGY_AMX_H

#include "_isa.h"

#ifdef LSTM_ENERGY_X86
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define LE_ARCH_REQ_XCOMP_PERM 0x1023   /* arch/x86/include/uapi/asm/prctl.h */
#define LE_XFEATURE_XTILEDATA 18

static int lstm_energy_amx_wanted = 1;
static int lstm_energy_amx_checked = 0;
static const char *lstm_energy_amx_reason = NULL;
/* tests (lowp._pretend_amx_missing): a reason reported instead of the probe's, so the refusals run on a
 * CPU with usable tiles too; NULL: the probe's answer */
static const char *lstm_energy_amx_pretend = NULL;

static const char *lstm_energy_amx_probe(void)
{
#ifdef LSTM_ENERGY_X86
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)))
        return "amx_tile";
    if (!(d & (1u << 22)))
        return "amx_bf16";
    if (!(d & (1u << 25)))
        return "amx_int8";
    if (lstm_energy_isa_missing(LE_ISA_AVX512) != NULL)   /* the tails of the tile product use AVX-512 */
        return lstm_energy_isa_missing(LE_ISA_AVX512);
    if ((lstm_energy_xgetbv0() & 0x60000ull) != 0x60000ull)
        return "xcr0 tile state (OS does not enable the AMX tiles)";
    if (syscall(SYS_arch_prctl, LE_ARCH_REQ_XCOMP_PERM, LE_XFEATURE_XTILEDATA) != 0)
        return "arch_prctl XTILEDATA permission (the kernel refused the AMX tile state; Linux 5.16+ grants it)";
    return NULL;
#else
    return "amx_tile";
#endif
}

/* NULL when this process can use the AMX tiles (BF16 and INT8), else what is missing (a CPU flag as
 * /proc/cpuinfo spells it, or the OS state or permission) */
static inline const char *lstm_energy_amx_missing(void)
{
    if (lstm_energy_amx_pretend != NULL)
        return lstm_energy_amx_pretend;
    /* Several threads may ask at once without the GIL (the first bf16 forward of two threads): the reason
     * is stored before `checked` is published (release), and read only after `checked` is seen set
     * (acquire), so no thread can see "checked" with the reason not yet written (a NULL reason means
     * "usable": tile instructions on a CPU without them, SIGILL). Two racing probes store the same answer;
     * arch_prctl may be asked twice, which is harmless. */
    if (!__atomic_load_n(&lstm_energy_amx_checked, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&lstm_energy_amx_reason, lstm_energy_amx_probe(), __ATOMIC_RELAXED);
        __atomic_store_n(&lstm_energy_amx_checked, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&lstm_energy_amx_reason, __ATOMIC_RELAXED);
}

#endif
