//! The f16 matrix products whisper.cpp runs on, checked against a plain sum. The vendored
//! ggml (vendor/whisper-rs-sys/PATCHES.md) sends products whose inner size is not a multiple
//! of the vector width (Whisper's attention: 1500) or whose row count is not a multiple of 4
//! (the vocabulary: 51865) through llamafile's tiled kernels, and on CPUs with AVX-512 through
//! a second, AVX-512 build of those kernels. Each shape below takes one of those paths; the
//! same checks run again in a child process with the AVX-512 build switched off.

use whisper_rs::whisper_rs_sys as sys;

/// Deterministic values in [-1, 1).
fn values(count: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..count)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn to_f16(v: &[f32]) -> Vec<u16> {
    let mut out = vec![0u16; v.len()];
    unsafe { sys::ggml_fp32_to_fp16_row(v.as_ptr(), out.as_mut_ptr(), v.len() as i64) };
    out
}

fn from_f16(v: &[u16]) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    unsafe { sys::ggml_fp16_to_fp32_row(v.as_ptr(), out.as_mut_ptr(), v.len() as i64) };
    out
}

/// `a` (m rows of k, f16) times `b` (n rows of k, f32) with ggml on `threads` threads: the
/// m × n result, column j at `j * m`.
fn ggml_mul_mat(a: &[u16], b: &[f32], k: usize, m: usize, n: usize, threads: i32) -> Vec<f32> {
    unsafe {
        let ctx = sys::ggml_init(sys::ggml_init_params {
            mem_size: 16 * (k * m + k * n + m * n) + (64 << 20),
            mem_buffer: std::ptr::null_mut(),
            no_alloc: false,
        });
        assert!(!ctx.is_null(), "ggml_init failed");
        let ta = sys::ggml_new_tensor_2d(ctx, sys::ggml_type_GGML_TYPE_F16, k as i64, m as i64);
        let tb = sys::ggml_new_tensor_2d(ctx, sys::ggml_type_GGML_TYPE_F32, k as i64, n as i64);
        std::ptr::copy_nonoverlapping(a.as_ptr(), sys::ggml_get_data(ta) as *mut u16, a.len());
        std::ptr::copy_nonoverlapping(b.as_ptr(), sys::ggml_get_data_f32(tb), b.len());
        let tc = sys::ggml_mul_mat(ctx, ta, tb);
        let graph = sys::ggml_new_graph(ctx);
        sys::ggml_build_forward_expand(graph, tc);
        let status = sys::ggml_graph_compute_with_ctx(ctx, graph, threads);
        assert_eq!(
            status,
            sys::ggml_status_GGML_STATUS_SUCCESS,
            "ggml compute failed"
        );
        let out = std::slice::from_raw_parts(sys::ggml_get_data_f32(tc), m * n).to_vec();
        sys::ggml_free(ctx);
        out
    }
}

/// One product of the given shape against an f64 sum of the same inputs. ggml's dot products
/// round `b` to f16 first, the tiles take it as f32: the result must match one of the two sums.
fn check(k: usize, m: usize, n: usize, threads: i32) {
    let a = to_f16(&values(k * m, (k * 31 + m) as u64));
    let b = values(k * n, (k * 17 + n) as u64);
    let a32 = from_f16(&a);
    let b16 = from_f16(&to_f16(&b));
    let got = ggml_mul_mat(&a, &b, k, m, n, threads);
    let mut worst = 0f64;
    for j in 0..n {
        for i in 0..m {
            let err = [&b, &b16]
                .iter()
                .map(|bb| {
                    let (mut sum, mut size) = (0f64, 0f64);
                    for l in 0..k {
                        let p = a32[i * k + l] as f64 * bb[j * k + l] as f64;
                        sum += p;
                        size += p.abs();
                    }
                    (got[j * m + i] as f64 - sum).abs() / (size + 1e-6)
                })
                .fold(f64::INFINITY, f64::min);
            worst = worst.max(err);
            assert!(
                err < 1e-5,
                "k={k} m={m} n={n} threads={threads}: C[{i},{j}] = {} is {err:.1e} from both sums",
                got[j * m + i]
            );
        }
    }
    eprintln!("k={k} m={m} n={n} threads={threads}: worst relative error {worst:.2e}");
}

#[test]
fn f16_products_match_a_plain_sum() {
    for threads in [1, 2] {
        // Attention·V: inner size 1500, not a multiple of 8 or 16.
        check(1500, 64, 24, threads);
        // Rows not a multiple of 4 (like the 51865-row vocabulary), a beam of 5.
        check(512, 1003, 5, threads);
        // Both at once, with an odd column count.
        check(1500, 67, 7, threads);
        // Queries·keys: inner size 64, many rows.
        check(64, 1500, 9, threads);
        // Inner size below the vector width: the kernels refuse, ggml's dot products run.
        check(10, 9, 3, threads);
        // One column (greedy decoding): ggml's dot products.
        check(1500, 67, 1, threads);
    }
}

#[test]
fn f16_products_match_a_plain_sum_without_avx512() {
    if std::env::var_os("GGML_SGEMM_NO_AVX512").is_some() {
        return; // already the child
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["f16_products_match_a_plain_sum", "--exact", "--nocapture"])
        .env("GGML_SGEMM_NO_AVX512", "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "baseline kernels failed:\n{text}");
    assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
}
