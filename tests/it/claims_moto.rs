//! The claim markers of a lake on S3 (`flowtrail_lake::claims`) against moto server
//! over HTTP, with the real SDK client: a second owner finds the object held, then done; an
//! expired claim is taken over; eight owners claiming one object at once give one `Mine`.

use std::sync::Arc;
use std::time::Duration;

use flowtrail_core::ManualClock;
use flowtrail_ingest::source::s3::S3Url;
use flowtrail_lake::SourceId;
use flowtrail_lake::claims::{Claim, Claims};
use flowtrail_testkit::moto::Moto;

struct Fixture {
    _moto: Moto,
    rt: tokio::runtime::Runtime,
    client: aws_sdk_s3::Client,
    url: S3Url,
    /// Every owner's clock: a lease runs out when the test moves it, not by sleeping.
    clock: Arc<ManualClock>,
}

impl Fixture {
    fn new() -> Self {
        let moto = Moto::start();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let conf = rt.block_on(moto.sdk_config());
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        rt.block_on(client.create_bucket().bucket("lake").send())
            .unwrap();
        let url = S3Url::parse("s3://lake/flowtrail").unwrap();
        Fixture {
            _moto: moto,
            rt,
            client,
            url,
            clock: Arc::new(ManualClock::new(1_767_866_700_000)),
        }
    }

    fn claims(&self, owner: &str, lease: Duration) -> Claims {
        Claims::with_owner(
            self.client.clone(),
            self.rt.handle().clone(),
            self.url.clone(),
            lease,
            owner,
        )
        .with_clock(self.clock.clone())
    }

    fn marker(&self, key: &str) -> serde_json::Value {
        let body = self
            .rt
            .block_on(async {
                self.client
                    .get_object()
                    .bucket("lake")
                    .key(key)
                    .send()
                    .await
                    .unwrap()
                    .body
                    .collect()
                    .await
            })
            .unwrap()
            .into_bytes();
        serde_json::from_slice(&body).unwrap()
    }
}

fn object(n: u32) -> SourceId {
    SourceId {
        key: format!("AWSLogs/1/vpcflowlogs/us-east-1/2026/01/07/o{n}.log.gz"),
        size: 100 + u64::from(n),
        etag: Some(format!("etag{n}")),
    }
}

#[test]
fn claims_give_each_object_to_one_owner() {
    let f = Fixture::new();
    let lease = Duration::from_secs(600);
    let (a, b) = (f.claims("task-a", lease), f.claims("task-b", lease));
    let id = object(1);

    assert_eq!(a.claim(&id).unwrap(), Claim::Mine);
    let key = a.marker_key(&id);
    assert!(
        key.starts_with("flowtrail/_claims/") && key.len() == "flowtrail/_claims/".len() + 37,
        "{key}"
    );
    let m = f.marker(&key);
    assert_eq!(m["owner"], "task-a");
    assert_eq!(m["state"], "held");
    assert_eq!(m["key"], id.key.as_str());
    assert_eq!(m["size"], id.size);
    assert_eq!(m["etag"], "etag1");
    assert!(m["at_ms"].as_i64().unwrap() > 0);

    assert_eq!(b.claim(&id).unwrap(), Claim::HeldElsewhere);
    // The holder claiming again (its message came back) keeps it.
    assert_eq!(a.claim(&id).unwrap(), Claim::Mine);
    a.renew(std::slice::from_ref(&id)).unwrap();
    assert_eq!(b.claim(&id).unwrap(), Claim::HeldElsewhere);

    a.done(std::slice::from_ref(&id)).unwrap();
    assert_eq!(f.marker(&key)["state"], "done");
    assert_eq!(b.claim(&id).unwrap(), Claim::DoneElsewhere);
    assert_eq!(a.claim(&id).unwrap(), Claim::DoneElsewhere);

    // Another object is another marker.
    assert_eq!(b.claim(&object(2)).unwrap(), Claim::Mine);
}

#[test]
fn an_expired_or_unreadable_claim_is_taken_over() {
    let f = Fixture::new();
    let short = Duration::from_millis(300);
    let (a, b) = (f.claims("dead-task", short), f.claims("live-task", short));
    let id = object(3);
    assert_eq!(a.claim(&id).unwrap(), Claim::Mine);
    f.clock.advance(299);
    assert_eq!(
        b.claim(&id).unwrap(),
        Claim::HeldElsewhere,
        "the lease has 1 ms left"
    );
    f.clock.advance(2);
    assert_eq!(b.claim(&id).unwrap(), Claim::Mine, "the lease ran out");
    assert_eq!(f.marker(&b.marker_key(&id))["owner"], "live-task");
    // The old holder's renewal finds its marker replaced and gives it up.
    a.renew(std::slice::from_ref(&id)).unwrap();
    assert_eq!(f.marker(&b.marker_key(&id))["owner"], "live-task");

    // A marker that is not a claim counts as expired.
    let id = object(4);
    let key = a.marker_key(&id);
    f.rt.block_on(
        f.client
            .put_object()
            .bucket("lake")
            .key(&key)
            .body(b"{not json".to_vec().into())
            .send(),
    )
    .unwrap();
    let long = f.claims("next-task", Duration::from_secs(600));
    assert_eq!(long.claim(&id).unwrap(), Claim::Mine);
    assert_eq!(f.marker(&key)["owner"], "next-task");
}

#[test]
fn concurrent_claims_give_exactly_one_mine() {
    let f = Fixture::new();
    for round in 0..3 {
        let id = object(10 + round);
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let outcomes: Vec<Claim> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let c = f.claims(&format!("task-{i}"), Duration::from_secs(600));
                    let (barrier, id) = (barrier.clone(), id.clone());
                    s.spawn(move || {
                        barrier.wait();
                        c.claim(&id).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mine = outcomes.iter().filter(|c| **c == Claim::Mine).count();
        assert_eq!(mine, 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|c| matches!(c, Claim::Mine | Claim::HeldElsewhere)),
            "{outcomes:?}"
        );
    }
}
