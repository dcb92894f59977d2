//! The filter transform, once at load: 3x3 filters to the Winograd domain, `U = G g Gᵀ` for
//! every (input, output) channel pair, computed in f64 and packed as the 36 GEMMs' B matrices.
//!
//! 36 floats per filter instead of 9: the weights take 4x the memory of the 3x3 ones.

use super::schedule::PieceLists;
use super::{reference, ALPHA, FREQUENCIES, OP};
use crate::error::{check_len, KernelError, Result};
use crate::gemm::PackedB;

/// 3x3 filters transformed to the Winograd domain and packed for the 36 GEMMs.
#[derive(Debug, Clone, PartialEq)]
pub struct WinogradWeights {
    pub(super) in_c: usize,
    pub(super) out_c: usize,
    /// `u[ξ]` is `U_ξ`, a `Cin x Cout` matrix packed as GEMM B.
    pub(super) u: Vec<PackedB>,
    /// The output pieces' lists of this layer's calls, kept (empty) for their allocations.
    pub(super) pieces: PieceLists,
}

impl WinogradWeights {
    /// Transforms HWIO weights `[3, 3, in_c, out_c]` (`U = G g Gᵀ` in f64, stored as f32).
    pub fn prepare(in_c: usize, out_c: usize, weights: &[f32]) -> Result<WinogradWeights> {
        if in_c == 0 || out_c == 0 {
            return Err(KernelError::InvalidParams {
                op: OP,
                reason: format!("channels {in_c} -> {out_c} must be at least 1"),
            });
        }
        check_len(OP, "weights", 9 * in_c * out_c, weights.len())?;
        in_c.checked_mul(out_c)
            .and_then(|f| f.checked_mul(FREQUENCIES))
            .ok_or_else(|| KernelError::InvalidParams {
                op: OP,
                reason: format!("{in_c} x {out_c} filters overflow"),
            })?;
        // Written straight into the packed layout: no row-major copy of the 36 matrices.
        let mut u: Vec<PackedB> = (0..FREQUENCIES).map(|_| PackedB::zeroed(in_c, out_c)).collect();
        for ci in 0..in_c {
            for co in 0..out_c {
                let g = std::array::from_fn(|ky| {
                    std::array::from_fn(|kx| weights[((ky * 3 + kx) * in_c + ci) * out_c + co] as f64)
                });
                let t = reference::filter_transform(&g);
                for (xi, ux) in u.iter_mut().enumerate() {
                    ux.set(ci, co, t[xi / ALPHA][xi % ALPHA] as f32);
                }
            }
        }
        Ok(WinogradWeights {
            in_c,
            out_c,
            u,
            pieces: PieceLists::default(),
        })
    }

    /// Input channels.
    pub fn in_c(&self) -> usize {
        self.in_c
    }

    /// Output channels.
    pub fn out_c(&self) -> usize {
        self.out_c
    }

    /// Recovers the HWIO weights (allocates; for the reference tier and tests).
    ///
    /// `G` has full column rank and its first and last rows pick out `g0` and `g2`, so each 1-D
    /// pass inverts as `g0 = 4·u0`, `g2 = u5`, `g1 = -6·u1 - g0 - g2`.
    pub fn to_hwio(&self) -> Vec<f32> {
        let (cin, cout) = (self.in_c, self.out_c);
        let u: Vec<Vec<f32>> = self.u.iter().map(PackedB::to_row_major).collect();
        let invert = |v: [f64; ALPHA]| [4.0 * v[0], -6.0 * v[1] - 4.0 * v[0] - v[5], v[5]];
        let mut hwio = vec![0.0f32; 9 * cin * cout];
        for ci in 0..cin {
            for co in 0..cout {
                let t: [[f64; ALPHA]; ALPHA] =
                    std::array::from_fn(|r| std::array::from_fn(|s| u[r * ALPHA + s][ci * cout + co] as f64));
                // U = G (g Gᵀ): invert the columns, then the rows of g Gᵀ.
                let h: [[f64; ALPHA]; 3] = {
                    let cols: [[f64; 3]; ALPHA] =
                        std::array::from_fn(|s| invert(std::array::from_fn(|r| t[r][s])));
                    std::array::from_fn(|ky| std::array::from_fn(|s| cols[s][ky]))
                };
                for (ky, hrow) in h.iter().enumerate() {
                    for (kx, &v) in invert(*hrow).iter().enumerate() {
                        hwio[((ky * 3 + kx) * cin + ci) * cout + co] = v as f32;
                    }
                }
            }
        }
        hwio
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_filters_it_transformed() {
        let (cin, cout) = (3, 5);
        let w: Vec<f32> = (0..9 * cin * cout)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        let back = WinogradWeights::prepare(cin, cout, &w).unwrap().to_hwio();
        for (a, b) in w.iter().zip(&back) {
            assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{a} vs {b}");
        }
    }
}
