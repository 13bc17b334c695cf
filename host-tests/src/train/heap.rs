//! A binary max-heap with a fully specified order among equal keys: the sift-up and sift-down of the C++ standard
//! library's `push_heap`/`pop_heap` (libstdc++), so best-first tree growth expands nodes with equal improvements
//! in the same order as scikit-learn's (whose frontier is such a heap).

/// A max-heap of items by an f64 key (`less(a, b)` is `a.key < b.key`).
pub(crate) struct Heap<T> {
    items: Vec<T>,
    key: fn(&T) -> f64,
}

impl<T> Heap<T> {
    pub(crate) fn new(key: fn(&T) -> f64) -> Heap<T> {
        Heap {
            items: Vec::new(),
            key,
        }
    }

    fn less(&self, a: usize, b: &T) -> bool {
        (self.key)(&self.items[a]) < (self.key)(b)
    }

    /// Moves `value` up from `hole` (libstdc++ `__push_heap`).
    fn sift_up(&mut self, mut hole: usize, top: usize, value: T) {
        // The slot at `hole` is logically empty; `value` is kept aside until its place is found.
        while hole > top {
            let parent = (hole - 1) / 2;
            if !self.less(parent, &value) {
                break;
            }
            self.items.swap(hole, parent);
            hole = parent;
        }
        self.items[hole] = value;
    }

    /// Adds an item.
    pub(crate) fn push(&mut self, value: T)
    where
        T: Clone,
    {
        self.items.push(value.clone());
        let hole = self.items.len() - 1;
        self.sift_up(hole, 0, value);
    }

    /// Removes the item with the largest key (libstdc++ `pop_heap` + `pop_back`).
    pub(crate) fn pop(&mut self) -> Option<T>
    where
        T: Clone,
    {
        let n = self.items.len();
        if n <= 1 {
            return self.items.pop();
        }
        let last = n - 1;
        let value = self.items[last].clone();
        self.items.swap(0, last);
        // __adjust_heap over items[..last] with the hole at 0, then __push_heap of `value`.
        let len = last;
        let mut hole = 0usize;
        let mut child = 0usize;
        while len > 0 && child < (len - 1) / 2 {
            child = 2 * (child + 1);
            if (self.key)(&self.items[child]) < (self.key)(&self.items[child - 1]) {
                child -= 1;
            }
            self.items.swap(hole, child);
            hole = child;
        }
        if len > 0 && len.is_multiple_of(2) && child == (len - 2) / 2 {
            child = 2 * (child + 1);
            self.items.swap(hole, child - 1);
            hole = child - 1;
        }
        self.sift_up(hole, 0, value);
        self.items.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_key_order() {
        let mut h = Heap::new(|x: &(f64, usize)| x.0);
        let keys = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0];
        for (i, &k) in keys.iter().enumerate() {
            h.push((k, i));
        }
        let mut out = Vec::new();
        while let Some((k, _)) = h.pop() {
            out.push(k);
        }
        let mut sorted = keys.to_vec();
        sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
        assert_eq!(out, sorted);
    }

    #[test]
    fn equal_keys_follow_the_libstdcxx_order() {
        // The orders std::push_heap/std::pop_heap (libstdc++) give for these sequences, recorded from a C++ run.
        let mut h = Heap::new(|x: &(f64, usize)| x.0);
        for i in 0..7 {
            h.push((1.0, i));
        }
        let ids: Vec<usize> = std::iter::from_fn(|| h.pop().map(|x| x.1)).collect();
        assert_eq!(ids, [0, 2, 5, 6, 4, 1, 3]);

        // Interleaved pushes and pops of keys 0..3 driven by a 32-bit LCG.
        let expected = [
            0, 1, 3, 5, 6, 8, 4, 10, 11, 13, 15, 16, 18, 19, 9, 21, 28, 29, 20, 22, 25, 34, 35, 36,
            26, 14, 37, 38, 40, 42, 43, 44, 49, 58, 54, 60, 68, 75, 55, 59, 65, 86, 87, 89, 90, 92,
            94, 105, 107, 111, 115, 117, 100, 119, 112, 114, 123, 126, 91, 134, 41, 93, 135, 97,
            85, 78, 81, 80, 122, 118, 71, 137, 74, 127, 125, 72, 133, 67, 129, 110, 102, 84, 77,
            52, 50, 47, 66, 51, 109, 120, 46, 103, 63, 98, 70, 116, 96, 64, 62, 131, 88, 69, 130,
            48, 132, 79, 45, 113, 121, 101, 106, 57, 61, 56, 33, 12, 31, 82, 83, 23, 32, 7, 76, 30,
            108, 27, 73, 17, 53, 95, 99, 128, 104, 2, 136, 39, 24, 124,
        ];
        let mut h = Heap::new(|x: &(f64, usize)| x.0);
        let (mut s, mut id, mut out) = (12345u32, 0usize, Vec::new());
        for _ in 0..200 {
            s = s.wrapping_mul(1103515245).wrapping_add(12345);
            if (s >> 16) % 3 != 0 || h.items.is_empty() {
                h.push((((s >> 8) % 4) as f64, id));
                id += 1;
            } else {
                out.push(h.pop().unwrap().1);
            }
        }
        while let Some(x) = h.pop() {
            out.push(x.1);
        }
        assert_eq!(out, expected);
    }
}
