//! Unit tests of `profile.rs`: profile names, the first upload plan and its adaptations per profile.
use super::*;

#[test]
fn names_round_trip() {
    for p in RegistryProfile::ALL {
        assert_eq!(p.name().parse::<RegistryProfile>(), Ok(p));
    }
    let e = "nexus".parse::<RegistryProfile>().unwrap_err();
    assert_eq!(e, UnknownProfile("nexus".into()));
    assert!(e.to_string().contains("ghcr"), "{e}");
}

#[test]
fn first_plan_table() {
    let opts = |strategy, chunk: u64| PushOptions {
        strategy,
        chunk_size: chunk,
        monolithic_max: 256 * MIB,
        ..PushOptions::default()
    };
    use RegistryProfile as P;
    use UploadStrategy as S;
    // (profile, strategy, chunk option, blob size) -> (monolithic, chunk)
    let cases = [
        (P::Generic, S::Auto, 32 * MIB, 10 * MIB, (true, 32 * MIB)),
        (P::Generic, S::Auto, 32 * MIB, 300 * MIB, (false, 32 * MIB)),
        (P::Ghcr, S::Chunked, 32 * MIB, 10 * MIB, (false, 4 * MIB)),
        (P::Ecr, S::Chunked, MIB, 10 * MIB, (false, 5 * MIB)),
        (P::Gar, S::Auto, 32 * MIB, 300 * MIB, (true, 32 * MIB)),
        (P::Gar, S::Chunked, 32 * MIB, 300 * MIB, (false, 32 * MIB)),
        (P::Acr, S::Auto, 32 * MIB, 30 * MIB, (false, 16 * MIB)),
        (P::Acr, S::Auto, 32 * MIB, 10 * MIB, (true, 16 * MIB)),
        (P::Acr, S::Monolithic, 32 * MIB, 300 * MIB, (true, 16 * MIB)),
        (P::EcrPublic, S::Auto, MIB, 300 * MIB, (true, MIB)),
        (P::Artifactory, S::Auto, MIB, 10 * MIB, (false, 10 * MIB)),
        (P::Artifactory, S::Chunked, MIB, 10 * MIB, (false, MIB)),
        (P::Artifactory, S::Monolithic, MIB, 10 * MIB, (true, MIB)),
    ];
    for (p, s, chunk, size, want) in cases {
        let plan = UploadPlan::new(p, &opts(s, chunk), size);
        assert_eq!((plan.monolithic, plan.chunk), want, "{p} {s:?} {size}");
    }
}

#[test]
fn adaptations_table() {
    let base = UploadPlan {
        monolithic: true,
        chunk: 32 * MIB,
        min_chunk: 1,
        max_chunk: None,
        empty_put: false,
    };
    // 413 on an 8 MiB PUT: chunked, 4 MiB chunks, never more than 8 MiB - 1.
    let mut p = base.clone();
    assert!(p.too_large(8 * MIB));
    assert_eq!(
        (p.monolithic, p.chunk, p.max_chunk),
        (false, 4 * MIB, Some(8 * MIB - 1))
    );
    // Again on a 4 MiB PATCH: 2 MiB.
    assert!(p.too_large(4 * MIB));
    assert_eq!(p.chunk, 2 * MIB);
    // Down to the floor, then no more.
    let mut p = base.clone();
    assert!(p.too_large(2 * CHUNK_FLOOR));
    assert!(!p.too_large(CHUNK_FLOOR));
    // Not below a known minimum.
    let mut p = UploadPlan {
        min_chunk: ECR_MIN_CHUNK,
        chunk: ECR_MIN_CHUNK,
        ..base.clone()
    };
    assert!(!p.too_large(ECR_MIN_CHUNK + 1));
    // Too small: raised to 5 MiB once.
    let mut p = UploadPlan {
        monolithic: false,
        chunk: MIB,
        ..base.clone()
    };
    assert!(p.too_small(MIB));
    assert_eq!((p.chunk, p.min_chunk), (ECR_MIN_CHUNK, ECR_MIN_CHUNK));
    assert!(!p.too_small(MIB));
    // Chunked refused: monolithic once.
    let mut p = UploadPlan {
        monolithic: false,
        ..base.clone()
    };
    assert!(p.chunked_refused());
    assert!(!p.chunked_refused());
    // A PUT with data refused: one PATCH of everything, an empty PUT; once.
    let mut p = base.clone();
    assert!(p.one_patch(10 * MIB));
    assert_eq!(
        (p.monolithic, p.chunk, p.empty_put),
        (false, 10 * MIB, true)
    );
    assert!(!p.one_patch(10 * MIB));
}
