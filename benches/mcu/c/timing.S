/* Measured regions for the peer harness, in assembly so that the compiler cannot move work into or out of them.
 *
 *   uint32_t time_call(void (*fn)(void));   SysTick ticks across `blx fn` (load, call, return, load)
 *   uint32_t stack_call(void (*fn)(void));  bytes of stack below the caller's SP that fn wrote
 *   uint32_t alu_block_1000(void);          ticks across 1000 single-cycle ALU instructions
 *   uint32_t alu_block_3000(void);          ticks across 3000 of them
 *
 * SysTick counts down, so elapsed = start - end (mod 2^24).
 *
 * Two versions of the same code: Thumb-2 (Cortex-M3, M4F, M55) and Thumb-1 (the Cortex-M0: no 32-bit
 * instructions such as `add.w`, `bic` with a wide immediate, `movw`/`movt` or writeback addressing, and a literal
 * pool must lie within 1020 bytes after its `ldr`). The timed instructions are the same in both: the counter load,
 * the call or the block of 1000/3000 single-instruction ALU operations (`add.w` or the 16-bit `adds`), the second
 * load. This file is preprocessed (`.S`): __ARM_ARCH_ISA_THUMB is 1 on Thumb-1 cores. */
#if __ARM_ARCH_ISA_THUMB >= 2

  .syntax unified
  .thumb
  .text

  .equ SYST_CVR, 0xE000E018
  .equ PAINT, 0xA5A5A5A5

  .global time_call
  .type time_call, %function
  .thumb_func
time_call:
  push {r4, r5, r6, lr}
  mov r6, r0
  ldr r5, =SYST_CVR
  ldr r4, [r5]
  blx r6
  ldr r0, [r5]
  subs r0, r4, r0
  bic r0, r0, #0xFF000000
  pop {r4, r5, r6, pc}
  .size time_call, . - time_call

  .global stack_call
  .type stack_call, %function
  .thumb_func
stack_call:
  push {r4, r5, r6, r7, r8, lr}
  mov r4, r0
  ldr r1, =__stack_limit
  ldr r2, =PAINT
  mov r3, sp
1:
  str r2, [r3, #-4]!
  cmp r3, r1
  bhi 1b
  mov r5, sp
  blx r4
  ldr r1, =__stack_limit
  ldr r2, =PAINT
  mov r3, r1
2:
  ldr r0, [r3]
  cmp r0, r2
  bne 3f
  adds r3, r3, #4
  cmp r3, r5
  blo 2b
3:
  subs r0, r5, r3
  pop {r4, r5, r6, r7, r8, pc}
  .size stack_call, . - stack_call

  .macro ALU_BLOCK name, reps
  .global \name
  .type \name, %function
  .thumb_func
\name:
  movw r2, #:lower16:SYST_CVR
  movt r2, #:upper16:SYST_CVR
  movs r0, #0
  ldr r1, [r2]
  .rept \reps
  add.w r0, r0, #1
  add.w r0, r0, #2
  add.w r0, r0, #3
  add.w r0, r0, #4
  add.w r0, r0, #5
  add.w r0, r0, #6
  add.w r0, r0, #7
  add.w r0, r0, #8
  add.w r0, r0, #9
  add.w r0, r0, #10
  .endr
  ldr r3, [r2]
  subs r0, r1, r3
  bic r0, r0, #0xFF000000
  bx lr
  .ltorg
  .size \name, . - \name
  .endm

  ALU_BLOCK alu_block_1000, 100
  ALU_BLOCK alu_block_3000, 300

  .ltorg

#else /* Thumb-1 (ARMv6-M) */

  .syntax unified
  .thumb
  .text

  .equ SYST_CVR, 0xE000E018
  .equ PAINT, 0xA5A5A5A5

  .global time_call
  .type time_call, %function
  .thumb_func
time_call:
  push {r4, r5, r6, lr}
  mov r6, r0
  ldr r5, =SYST_CVR
  ldr r4, [r5]
  blx r6
  ldr r0, [r5]
  subs r0, r4, r0
  lsls r0, r0, #8
  lsrs r0, r0, #8
  pop {r4, r5, r6, pc}
  .ltorg
  .size time_call, . - time_call

  .global stack_call
  .type stack_call, %function
  .thumb_func
stack_call:
  /* Six registers, so that SP stays 8-byte aligned at the call (r3 is pushed only for that). */
  push {r3, r4, r5, r6, r7, lr}
  mov r4, r0
  ldr r1, =__stack_limit
  ldr r2, =PAINT
  mov r3, sp
1:
  subs r3, r3, #4
  str r2, [r3]
  cmp r3, r1
  bhi 1b
  mov r5, sp
  blx r4
  ldr r1, =__stack_limit
  ldr r2, =PAINT
  mov r3, r1
2:
  ldr r0, [r3]
  cmp r0, r2
  bne 3f
  adds r3, r3, #4
  cmp r3, r5
  blo 2b
3:
  subs r0, r5, r3
  pop {r3, r4, r5, r6, r7, pc}
  .ltorg
  .size stack_call, . - stack_call

  .macro ALU_BLOCK name, reps
  .global \name
  .type \name, %function
  .thumb_func
\name:
  /* r2 = SYST_CVR (0xE000E018) built in registers: a literal after the block would be out of `ldr`'s reach. */
  movs r2, #0xE0
  lsls r2, r2, #16
  adds r2, #0xE0
  lsls r2, r2, #8
  adds r2, #0x18
  movs r0, #0
  ldr r1, [r2]
  .rept \reps
  adds r0, #1
  adds r0, #2
  adds r0, #3
  adds r0, #4
  adds r0, #5
  adds r0, #6
  adds r0, #7
  adds r0, #8
  adds r0, #9
  adds r0, #10
  .endr
  ldr r3, [r2]
  subs r0, r1, r3
  lsls r0, r0, #8
  lsrs r0, r0, #8
  bx lr
  .size \name, . - \name
  .endm

  ALU_BLOCK alu_block_1000, 100
  ALU_BLOCK alu_block_3000, 300

#endif
