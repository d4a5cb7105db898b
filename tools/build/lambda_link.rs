//! Build script of the Lambda binaries (the four functions and the hello-world baseline they
//! are measured against): links them as position-dependent executables on Linux.
//!
//! Why: a position-independent executable (the toolchain's default) carries its absolute
//! pointers (vtables, tables of strings: about 35,000 in a function that embeds the AWS SDK) as
//! relocations that the dynamic loader applies at every start, writing to, and so copying,
//! some 130 pages. Resolved at link time instead, they cost nothing: about 0.7 ms, a quarter of
//! a function's cold start on the bench machine (`BENCHMARKS.md`), and 130 fewer page faults.
//!
//! What is given up: the executable's own code and data load at a fixed address; shared
//! libraries, heap and stacks are still randomised. Build with `ORABRIDGE_PIE=1` to keep the
//! default (position-independent) executables.

fn main() {
    println!("cargo::rerun-if-env-changed=ORABRIDGE_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let keep_pie = std::env::var("ORABRIDGE_PIE").is_ok_and(|value| value == "1");
    if linux && !keep_pie {
        // After rustc's own `-pie`: the compiler driver takes the last of the two.
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
