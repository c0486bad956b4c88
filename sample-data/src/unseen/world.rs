//! The fleet of an unseen scenario, drawn from its seed: three accounts (one id with a leading
//! zero, one logged by an organization trail), three or four regions, four VPCs with mixed
//! flow-log formats and S3 layouts, 20-40 instances in tiers, and the principals of each
//! account.

use crate::cloudtrail::TrailStream;
use crate::fleet::{Fleet, Peers, Role};
use crate::flowlog::{CUSTOM_V5, DEFAULT_V2, FlowFormat};
use crate::layout::FlowLayout;
use crate::prng::Rng;
use crate::time::DAY;
use crate::trail_events::Identities;

use super::formats::{CUSTOM_V3, CUSTOM_V5_DIRECTION};

/// Regions to draw from: name, UTC offset of the local business day (hours), AZ id prefix.
const REGIONS: &[(&str, i64, &str)] = &[
    ("us-east-1", -5, "use1"),
    ("us-east-2", -5, "use2"),
    ("us-west-2", -8, "usw2"),
    ("eu-west-1", 0, "euw1"),
    ("eu-central-1", 1, "euc1"),
    ("ap-southeast-2", 11, "apse2"),
    ("ap-northeast-1", 9, "apne1"),
];

/// IAM user names an account may have besides alice, bob and ci-deployer.
const USER_NAMES: &[&str] = &[
    "dev-jordan",
    "dev-priya",
    "ops-sam",
    "data-lee",
    "qa-kim",
    "svc-reporting",
    "backup-admin",
    "ml-nora",
];

/// 2026-01-05T00:00:00Z, the earliest possible start.
const EPOCH: i64 = 1_767_571_200;

/// One account and its principals.
#[derive(Debug, Clone)]
pub struct Account {
    /// 12-digit id.
    pub id: String,
    /// Organization id when its trail is an organization trail.
    pub org: Option<String>,
    /// Trail name.
    pub trail: String,
    /// Principals.
    pub ids: Identities,
}

/// A CloudTrail stream (account x region) and its background rate.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Where it delivers.
    pub st: TrailStream,
    /// Index into [`World::accounts`].
    pub account: usize,
    /// Background events per hour, in hundredths.
    pub rate: u64,
}

/// Everything the scenario runs on.
#[derive(Debug)]
pub struct World {
    /// Seed.
    pub seed: u64,
    /// First day (Unix seconds, midnight UTC).
    pub d0: i64,
    /// Days.
    pub days: i64,
    /// Interfaces and flow logs (four VPCs).
    pub fleet: Fleet,
    /// Outside addresses.
    pub peers: Peers,
    /// Accounts: `[0]` has the leading-zero id, `[1]` the organization trail.
    pub accounts: Vec<Account>,
    /// CloudTrail streams.
    pub streams: Vec<Stream>,
    /// The instance that joins a tier after day 3.
    pub newcomer: usize,
    /// The database sending the nightly backup.
    pub backup_db: usize,
    /// The batch worker running the weekly heavy job.
    pub weekly: usize,
}

impl World {
    /// Index of the account with id `id`.
    pub fn account_index(&self, id: &str) -> usize {
        self.accounts.iter().position(|a| a.id == id).unwrap_or(0)
    }

    /// Index of the stream of `account` in `region` (the account's first stream if none).
    pub fn stream(&self, account: usize, region: &str) -> usize {
        let mut first = None;
        for (i, s) in self.streams.iter().enumerate() {
            if s.account == account {
                if s.st.region == region {
                    return i;
                }
                first.get_or_insert(i);
            }
        }
        first.unwrap_or(0)
    }

    /// Start of day `day`.
    pub fn day(&self, day: i64) -> i64 {
        self.d0 + day * DAY
    }
}

fn account_id(rng: &mut Rng, leading_zero: bool) -> String {
    let first = if leading_zero { 0 } else { rng.range(1, 10) };
    let mut s = first.to_string();
    for _ in 0..11 {
        s.push(char::from(b'0' + rng.below(10) as u8));
    }
    s
}

/// Draw `n` distinct indices below `len`.
pub fn distinct(rng: &mut Rng, len: usize, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..len).collect();
    for i in 0..n.min(len) {
        let j = i + rng.below((len - i) as u64) as usize;
        v.swap(i, j);
    }
    v.truncate(n.min(len));
    v
}

/// How many of each tier a VPC gets: (role, count, subnet third octets).
type Tiers = Vec<(Role, u64, &'static [u8])>;

fn tiers(rng: &mut Rng, vpc: usize) -> Tiers {
    const PUBLIC: &[u8] = &[1, 2];
    const APP: &[u8] = &[11, 12];
    const DB: &[u8] = &[21, 22];
    const BATCH: &[u8] = &[31];
    let mut t: Tiers = match vpc {
        0 => vec![
            (Role::Web, rng.range(2, 5), PUBLIC),
            (Role::Bastion, 1, PUBLIC),
            (Role::App, rng.range(2, 5), APP),
            (Role::Db, 2, DB),
        ],
        1 => vec![
            (Role::Batch, rng.range(2, 4), BATCH),
            (Role::App, rng.range(1, 3), APP),
        ],
        2 => vec![
            (Role::Web, rng.range(2, 4), PUBLIC),
            (Role::App, rng.range(2, 4), APP),
            (Role::Db, 2, DB),
        ],
        _ => vec![
            (Role::Web, rng.range(1, 4), PUBLIC),
            (Role::Bastion, 1, PUBLIC),
            (Role::App, rng.range(2, 4), APP),
            (Role::Db, 2, DB),
            (Role::Batch, rng.range(1, 3), BATCH),
        ],
    };
    if rng.chance(1, 2) && vpc != 1 {
        t.push((Role::LoadBalancer, 1, PUBLIC));
    }
    if vpc == 2 && rng.chance(1, 2) {
        t.push((Role::Bastion, 1, PUBLIC));
    }
    t
}

/// Build the world for `seed` over `days` days.
pub fn build(seed: u64, days: i64) -> World {
    let mut rng = Rng::derive(seed, "unseen/fleet");
    let r = &mut rng;
    let d0 = EPOCH + r.below(120) as i64 * DAY;
    let accounts_ids = [
        account_id(r, true),
        account_id(r, false),
        account_id(r, false),
    ];
    let org = format!(
        "o-{}",
        r.from_alphabet(b"abcdefghijklmnopqrstuvwxyz0123456789", 10)
    );
    let n_regions = r.range(3, 5) as usize;
    let regions: Vec<(&str, i64, &str)> = distinct(r, REGIONS.len(), n_regions)
        .into_iter()
        .map(|i| REGIONS[i])
        .collect();
    let vpc_region = [0, 1, 2, 3 % n_regions];
    let vpc_account = [0usize, 0, 1, 2];
    let mut formats: Vec<&'static FlowFormat> = vec![
        &DEFAULT_V2,
        &CUSTOM_V3,
        &CUSTOM_V5_DIRECTION,
        *r.pick(&[&DEFAULT_V2, &CUSTOM_V5, &CUSTOM_V3]),
    ];
    let mut layouts = vec![
        FlowLayout::Daily,
        FlowLayout::Hourly,
        FlowLayout::Hive,
        *r.pick(&[FlowLayout::Daily, FlowLayout::Hourly, FlowLayout::Hive]),
    ];
    let perm = distinct(r, 4, 4);
    formats = perm.iter().map(|&i| formats[i]).collect();
    let perm = distinct(r, 4, 4);
    layouts = perm.iter().map(|&i| layouts[i]).collect();
    let octets = distinct(r, 200, 4);

    let mut fleet = Fleet::default();
    let always = i64::MIN;
    let newcomer_vpc = *r.pick(&[0usize, 2, 3]);
    let newcomer_day = r.range(3, (days as u64).clamp(4, 6)) as i64;
    let newcomer_at = d0 + newcomer_day * DAY + r.range(6 * 3600, 18 * 3600) as i64;
    let mut newcomer = 0;
    for vpc in 0..4 {
        let (region, offset, az) = regions[vpc_region[vpc]];
        let acct = &accounts_ids[vpc_account[vpc]];
        let mut v = fleet.add_vpc(
            r,
            acct,
            region,
            octets[vpc] as u8 + 10,
            formats[vpc],
            layouts[vpc],
            offset,
        );
        let mut subnets: Vec<(u8, usize)> = Vec::new();
        for third in [1u8, 2, 11, 12, 21, 22, 31] {
            let zone = format!("{az}-az{}", 1 + third % 2);
            let s = fleet.add_subnet(r, &mut v, third, &zone);
            subnets.push((third, s));
        }
        let subnet = |third: u8| {
            subnets
                .iter()
                .find(|(t, _)| *t == third)
                .map_or(0, |(_, s)| *s)
        };
        for (role, count, thirds) in tiers(r, vpc) {
            for k in 0..count {
                let third = thirds[k as usize % thirds.len()];
                let name = format!("{}-{}", role.as_str(), k + 1);
                fleet.add_iface(r, &v, subnet(third), role, &name, always);
            }
            if vpc == newcomer_vpc && role == Role::App {
                let name = format!("app-{}", count + 1);
                newcomer = fleet.add_iface(r, &v, subnet(11), role, &name, newcomer_at);
            }
        }
    }
    let peers = Peers::new(r, 3_000);
    let dbs: Vec<usize> = (0..fleet.ifaces.len())
        .filter(|&i| fleet.ifaces[i].role == Role::Db && fleet.ifaces[i].name == "db-1")
        .collect();
    let backup_db = *r.pick(&dbs);
    let batch: Vec<usize> = (0..fleet.ifaces.len())
        .filter(|&i| fleet.ifaces[i].role == Role::Batch)
        .collect();
    let weekly = *r.pick(&batch);

    let mut accounts = Vec::new();
    let mut streams = Vec::new();
    for (a, id) in accounts_ids.iter().enumerate() {
        let mut regs: Vec<(&str, i64)> = (0..4)
            .filter(|&v| vpc_account[v] == a)
            .map(|v| (regions[vpc_region[v]].0, regions[vpc_region[v]].1))
            .collect();
        if !regs.iter().any(|(g, _)| *g == "us-east-1") {
            regs.push(("us-east-1", -5));
        }
        regs.dedup();
        let names: Vec<&str> = distinct(r, USER_NAMES.len(), 3)
            .into_iter()
            .map(|i| USER_NAMES[i])
            .collect();
        let instances: Vec<(String, String)> = fleet
            .ifaces
            .iter()
            .filter(|f| &f.account_id == id)
            .filter_map(|f| f.instance_id.clone().map(|i| (f.role.as_str().into(), i)))
            .collect();
        let reg_names: Vec<&str> = regs.iter().map(|(g, _)| *g).collect();
        let ids = Identities::new(r, id, &reg_names, &instances, &names);
        let org_of = (a == 1).then(|| org.clone());
        let trail = if a == 1 {
            "org-trail".to_string()
        } else {
            format!("{}-trail", r.pick(&["management", "audit", "security"]))
        };
        let has_vpc =
            |g: &str| (0..4).any(|v| vpc_account[v] == a && regions[vpc_region[v]].0 == g);
        for (g, off) in &regs {
            streams.push(Stream {
                st: TrailStream {
                    account: id.clone(),
                    region: (*g).to_string(),
                    org: org_of.clone(),
                    trail: trail.clone(),
                    utc_offset_h: *off,
                },
                account: a,
                rate: if has_vpc(g) { r.range(600, 1_400) } else { 80 },
            });
        }
        accounts.push(Account {
            id: id.clone(),
            org: org_of,
            trail,
            ids,
        });
    }
    World {
        seed,
        d0,
        days,
        fleet,
        peers,
        accounts,
        streams,
        newcomer,
        backup_db,
        weekly,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worlds_differ_by_seed_and_meet_the_brief() {
        for seed in [1, 7, 1234, 99_999] {
            let w = build(seed, 8);
            assert!(w.accounts[0].id.starts_with('0'));
            assert!(w.accounts[1].org.is_some());
            let n = w
                .fleet
                .ifaces
                .iter()
                .filter(|f| f.instance_id.is_some())
                .count();
            assert!((20..=40).contains(&n), "{n} instances");
            let formats: Vec<&str> = w.fleet.flow_logs.iter().map(|f| f.format.name).collect();
            assert!(formats.contains(&"default-v2") && formats.contains(&"custom-v3"));
            assert!(formats.contains(&"custom-v5-direction"));
            for l in [FlowLayout::Daily, FlowLayout::Hourly, FlowLayout::Hive] {
                assert!(w.fleet.flow_logs.iter().any(|f| f.layout == l));
            }
            assert!(w.fleet.ifaces[w.newcomer].active_from >= w.day(3));
        }
        assert_ne!(build(7, 8).accounts[0].id, build(1234, 8).accounts[0].id);
    }
}
