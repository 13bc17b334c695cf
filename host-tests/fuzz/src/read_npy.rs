//! `.npy` reader: `npy::parse` and `npy::parse_u64`; an accepted array holds exactly the elements its shape
//! says, and writing it back reads back the same.

use emkern_host::io::npy;

/// Runs one input.
pub fn run(bytes: &[u8]) {
    if let Ok(a) = npy::parse(bytes) {
        let count: usize = a.shape.iter().product();
        assert_eq!(a.values.len(), count);
        {
            let back = npy::parse(&npy::to_bytes_f32(&a.shape, &a.values)).expect("re-read");
            assert_eq!(back.shape, a.shape);
            assert!(
                back.values
                    .iter()
                    .zip(&a.values)
                    .all(|(x, y)| x.to_bits() == y.to_bits())
            );
        }
    }
    if let Ok((shape, values)) = npy::parse_u64(bytes) {
        assert_eq!(values.len(), shape.iter().product::<usize>());
    }
}
