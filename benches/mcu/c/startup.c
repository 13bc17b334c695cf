/* Start-up code for the peer harness on the QEMU boards (mps2-an386 Cortex-M4F, mps3-an547 Cortex-M55,
 * mps2-an385 Cortex-M3, microbit Cortex-M0): vector table, reset handler (copy .data, zero .bss, enable the FPU
 * on cores built with one, call main, exit), fault handlers that report and exit, and the two semihosting calls
 * the harness needs (SYS_WRITE0 for text, SYS_EXIT to end the run with a status QEMU passes on). Thumb-1 clean:
 * the compiler emits only what the target core has. */
#include <stdint.h>

#include "harness.h"

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, __stack_top;
int main(void);

/* Semihosting: operation in r0, parameter in r1, `bkpt 0xab` in Thumb state. */
static uint32_t semihost(uint32_t op, const void *arg) {
  register uint32_t r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void hs_write(const char *text) { semihost(0x04 /* SYS_WRITE0 */, text); }

void hs_exit(int status) {
  /* SYS_EXIT with ADP_Stopped_ApplicationExit ends QEMU with status 0; any other reason with status 1. */
  semihost(0x18 /* SYS_EXIT */, (const void *)(uintptr_t)(status == 0 ? 0x20026u : 0x20024u /* RunTimeErrorUnknown */));
  for (;;) {
  }
}

void reset_handler(void) {
  uint32_t *src = &__data_load;
  for (uint32_t *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (uint32_t *dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
  /* Full access to CP10 and CP11 (the FPU, and Helium on the Cortex-M55) in CPACR, then synchronize. Cores
   * without an FPU (soft-float builds) skip this: the Cortex-M0 has no CPACR. */
  *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  hs_exit(main());
}

static void fault(const char *what) {
  hs_write(what);
  hs_exit(1);
}

static void hardfault_handler(void) { fault("FAULT: HardFault\n"); }
static void other_handler(void) { fault("FAULT: unexpected exception\n"); }

/* Initial SP, reset, then NMI, HardFault, MemManage, BusFault, UsageFault, 4 reserved, SVCall, DebugMonitor,
 * reserved, PendSV, SysTick. No device interrupt is enabled, so the table ends there. */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack_top),
    reset_handler,
    other_handler,
    hardfault_handler,
    other_handler,
    other_handler,
    other_handler,
    0,
    0,
    0,
    0,
    other_handler,
    other_handler,
    0,
    other_handler,
    other_handler,
};
