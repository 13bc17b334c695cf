/* The demo data of boards/selftest/data, linked into flash as it is (the assembler's include path points there).
 * The rows and expected values are little-endian f32, the target's own layout, aligned for direct use. */
    .section .rodata.emkern_data, "a"

    .balign 8
    .global model_emk
model_emk:
    .incbin "model.emk"
model_emk_end:
    .balign 4
    .global model_emk_len
model_emk_len:
    .word model_emk_end - model_emk

    .balign 4
    .global rows_bin
rows_bin:
    .incbin "rows.bin"
rows_bin_end:
    .global rows_bin_len
rows_bin_len:
    .word rows_bin_end - rows_bin

    .balign 4
    .global expected_bin
expected_bin:
    .incbin "expected.bin"
expected_bin_end:
    .global expected_bin_len
expected_bin_len:
    .word expected_bin_end - expected_bin

