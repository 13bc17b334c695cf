//! The sigmoid of a fixed-point margin in integer arithmetic: a Q16 table of `1 − σ(x)` with linear
//! interpolation (the error budget is in the module documentation of [`super`]).

use super::predict::fixed_to_f32;

/// Largest absolute error of [`sigmoid_fixed`] against the exact sigmoid of `v · 2^-s` (interpolation
/// 1.17e-5, table rounding 7.6e-6, input truncation 3.8e-6, the table's end at `x = 16` 1.2e-7, output
/// rounding 3e-8; rounded up).
pub const SIGMOID_MAX_ERROR: f32 = 2.5e-5;

/// `x` is read in Q16; the table covers `0 ≤ x < 16`.
const LIMIT_Q16: u32 = 16 << 16;
/// Table step 1/32 in Q16: `x >> STEP_BITS` is the entry, the low bits the interpolation weight.
const STEP_BITS: u32 = 11;

/// `round((1 − σ(i/32)) · 2^16)` for `i = 0 ..= 512`, σ the logistic function (computed in f64).
static TABLE: [u16; 513] = [
    32768, 32256, 31744, 31233, 30723, 30213, 29705, 29198, 28693, 28190, 27689, 27191, 26695,
    26202, 25712, 25226, 24743, 24263, 23788, 23316, 22849, 22386, 21928, 21474, 21025, 20582,
    20143, 19710, 19282, 18859, 18442, 18031, 17625, 17226, 16832, 16444, 16062, 15686, 15316,
    14952, 14595, 14243, 13898, 13559, 13226, 12899, 12579, 12264, 11955, 11653, 11357, 11066,
    10782, 10503, 10230, 9964, 9702, 9447, 9197, 8953, 8714, 8481, 8252, 8030, 7812, 7600, 7392,
    7190, 6992, 6799, 6611, 6428, 6249, 6074, 5904, 5739, 5577, 5420, 5266, 5117, 4971, 4830, 4692,
    4557, 4427, 4299, 4176, 4055, 3938, 3824, 3713, 3605, 3500, 3398, 3298, 3202, 3108, 3017, 2928,
    2842, 2758, 2677, 2598, 2521, 2446, 2374, 2303, 2235, 2168, 2104, 2041, 1980, 1921, 1864, 1808,
    1754, 1701, 1650, 1601, 1553, 1506, 1461, 1417, 1374, 1333, 1292, 1253, 1215, 1179, 1143, 1109,
    1075, 1042, 1011, 980, 951, 922, 894, 867, 840, 815, 790, 766, 743, 720, 698, 677, 656, 636,
    617, 598, 580, 562, 545, 528, 512, 497, 481, 467, 452, 439, 425, 412, 400, 387, 376, 364, 353,
    342, 332, 321, 312, 302, 293, 284, 275, 267, 259, 251, 243, 236, 228, 221, 215, 208, 202, 195,
    189, 184, 178, 172, 167, 162, 157, 152, 148, 143, 139, 134, 130, 126, 122, 119, 115, 111, 108,
    105, 101, 98, 95, 92, 90, 87, 84, 82, 79, 77, 74, 72, 70, 68, 66, 64, 62, 60, 58, 56, 54, 53,
    51, 50, 48, 47, 45, 44, 42, 41, 40, 39, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 27, 26, 25,
    24, 23, 23, 22, 21, 21, 20, 19, 19, 18, 18, 17, 17, 16, 16, 15, 15, 14, 14, 13, 13, 13, 12, 12,
    11, 11, 11, 10, 10, 10, 9, 9, 9, 9, 8, 8, 8, 8, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, 5, 5, 5, 5, 5, 5,
    4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// `σ(v · 2^-s)` as an f32, in integer arithmetic (no float instruction, no soft-float call), within
/// [`SIGMOID_MAX_ERROR`] of the exact value.
pub fn sigmoid_fixed(v: i32, s: i32) -> f32 {
    let ax = v.unsigned_abs();
    // |x| in Q16, saturated at 16.
    let x16 = if s >= 16 {
        ax.checked_shr((s - 16) as u32).unwrap_or(0)
    } else {
        let sh = (16 - s) as u32;
        if ax == 0 {
            0
        } else if sh > 20 || ax >= LIMIT_Q16 >> sh {
            LIMIT_Q16
        } else {
            ax << sh
        }
    };
    // 1 − σ(|x|) in Q27.
    let t27 = if x16 >= LIMIT_Q16 {
        0
    } else {
        let i = (x16 >> STEP_BITS) as usize;
        let f = x16 & ((1 << STEP_BITS) - 1);
        // i <= 511, so both entries exist; the table does not increase, so the difference is >= 0.
        let a = u32::from(TABLE.get(i).copied().unwrap_or(0));
        let b = u32::from(TABLE.get(i + 1).copied().unwrap_or(0));
        (a << STEP_BITS) - a.saturating_sub(b) * f
    };
    let q27 = if v >= 0 { (1u32 << 27) - t27 } else { t27 };
    fixed_to_f32(q27 as i32, 27)
}
