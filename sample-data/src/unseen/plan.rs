//! The attack plan of an unseen scenario: which of the 11 attack kinds happens when, where and
//! how hard, all drawn from the seed. Attacks start on day 2 or later (baselines get two days
//! of warm-up); CloudTrail attacks of the tampered account stay out of its logging gap, and
//! network attacks stay out of the VPC whose flow log gets deleted.

use crate::fleet::Role;
use crate::prng::Rng;
use crate::time::DAY;

use super::world::World;

/// Shapes of the internal port scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanShape {
    /// Many hosts x many ports.
    Block {
        /// Hosts probed.
        hosts: usize,
        /// Ports per host.
        ports: usize,
    },
    /// Many ports on one host.
    Vertical {
        /// Ports probed.
        ports: usize,
    },
}

/// How a trail is tampered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// `StopLogging`, remediated by `StartLogging`.
    StopLogging,
    /// `DeleteTrail`, remediated by `CreateTrail` + `StartLogging`.
    DeleteTrail,
    /// `PutEventSelectors` dropping management events, remediated by restoring them.
    DropManagementEvents,
}

/// The plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Port scan: scanner interface, start, duration (s), shape.
    pub scan: (usize, i64, i64, ScanShape),
    /// SSH brute force: target interface, start, attempts, attempts per minute, accepted.
    pub brute: (usize, i64, u64, u64, bool),
    /// Exfiltration: interface, start, duration (s), multiple of normal bytes, destination port.
    pub exfil: (usize, i64, i64, u64, u16),
    /// Reverse shell: interface, start, duration (s), C2 port.
    pub shell: (usize, i64, i64, u16),
    /// Console login without MFA: account, time.
    pub console: (usize, i64),
    /// Security group opened to the world: account, interface whose group, time, port (0 = all).
    pub sg: (usize, usize, i64, u16),
    /// API recon: account, start, denied calls, services, allowed calls, duration (s).
    pub recon: (usize, i64, u64, usize, u64, i64),
    /// Access key for another user: account, time.
    pub key: (usize, i64),
    /// Trail tampering: account, time, kind, logging gap (s).
    pub tamper: (usize, i64, Tamper, i64),
    /// Flow log deleted: flow log index, time.
    pub delete_fl: (usize, i64),
    /// Root activity: account, start, calls.
    pub root: (usize, i64, usize),
    /// Attack sequence: a public instance whose security group is opened to SSH from the
    /// world, then brute-forced and broken into: interface, time the group is opened.
    pub chain: (usize, i64),
}

fn pick_iface(rng: &mut Rng, w: &World, ok: impl Fn(usize) -> bool) -> usize {
    let c: Vec<usize> = (0..w.fleet.ifaces.len()).filter(|&i| ok(i)).collect();
    if c.is_empty() { 0 } else { *rng.pick(&c) }
}

/// A time on a random attack day (day 2 or later), anywhere in the day but the last hour.
fn when(rng: &mut Rng, w: &World) -> i64 {
    let day = rng.range(2, w.days.max(3) as u64) as i64;
    w.day(day) + rng.range(600, (DAY - 3600) as u64) as i64
}

/// Draw the plan for a world.
pub fn draw(w: &World) -> Plan {
    let mut rng = Rng::derive(w.seed, "unseen/plan");
    let r = &mut rng;
    let f = &w.fleet;
    let n_fl = f.flow_logs.len();
    let hosts = |fl: usize, i: usize| f.ifaces[i].flow_log == fl;
    let special = |i: usize| i == w.newcomer || i == w.backup_db || i == w.weekly;
    // the deleted flow log: preferably one without the benign look-alikes
    let quiet: Vec<usize> = (0..n_fl)
        .filter(|&fl| !(0..f.ifaces.len()).any(|i| hosts(fl, i) && special(i)))
        .collect();
    let del_fl = if quiet.is_empty() {
        r.below(n_fl as u64) as usize
    } else {
        *r.pick(&quiet)
    };
    let live = |i: usize| f.ifaces[i].flow_log != del_fl && f.ifaces[i].instance_id.is_some();
    let acct_of_fl = |fl: usize| w.account_index(&f.flow_logs[fl].account_id);

    let scanner = pick_iface(r, w, |i| {
        live(i) && !special(i) && matches!(f.ifaces[i].role, Role::Bastion | Role::Web | Role::App)
    });
    let shape = if r.chance(1, 3) {
        ScanShape::Vertical {
            ports: r.range(200, 1_001) as usize,
        }
    } else {
        ScanShape::Block {
            hosts: r.range(20, 61) as usize,
            ports: r.range(20, 101) as usize,
        }
    };
    let scan = (scanner, when(r, w), r.range(120, 900) as i64, shape);

    let target = pick_iface(r, w, |i| live(i) && f.ifaces[i].role.public());
    let accepted = f.ifaces[target].role == Role::Bastion || r.chance(1, 2);
    let brute = (
        target,
        when(r, w),
        r.range(60, 601),
        r.range(6, 31),
        accepted,
    );

    let victim = pick_iface(r, w, |i| {
        live(i) && !special(i) && matches!(f.ifaces[i].role, Role::App | Role::Db)
    });
    let exfil = (
        victim,
        when(r, w),
        r.range(20, 61) as i64 * 60,
        r.range(20, 201),
        *r.pick(&[443u16, 443, 443, 8443, 22]),
    );
    let shelled = pick_iface(r, w, |i| {
        live(i)
            && i != victim
            && i != w.newcomer
            && matches!(
                f.ifaces[i].role,
                Role::App | Role::Db | Role::Web | Role::Batch
            )
    });
    let shell = (
        shelled,
        when(r, w),
        r.range(5, 31) as i64 * 60,
        *r.pick(&[4444u16, 1337, 9001, 8081, 53, 31337]),
    );

    let n_acct = w.accounts.len() as u64;
    let console = (r.below(n_acct) as usize, when(r, w));
    let sg_if = pick_iface(r, w, |i| f.ifaces[i].instance_id.is_some());
    let sg = (
        acct_of_fl(f.ifaces[sg_if].flow_log),
        sg_if,
        when(r, w),
        *r.pick(&[22u16, 22, 3389, 0, 5432, 6379]),
    );
    let recon = (
        r.below(n_acct) as usize,
        when(r, w),
        r.range(12, 61),
        r.range(5, 16) as usize,
        r.range(5, 41),
        r.range(4, 16) as i64 * 60,
    );
    let key = (r.below(n_acct) as usize, when(r, w));
    let delete_fl = (del_fl, when(r, w));
    let root = (r.below(n_acct) as usize, when(r, w), r.range(2, 9) as usize);
    // tampering: an account with its own trail; its gap must not hide another CloudTrail attack
    let kind = *r.pick(&[
        Tamper::StopLogging,
        Tamper::DeleteTrail,
        Tamper::DropManagementEvents,
    ]);
    let own = [0usize, 2];
    let mut tamper = (own[0], when(r, w), kind, 0);
    for _ in 0..200 {
        let a = *r.pick(&own);
        let t = when(r, w);
        let gap = r.range(20, 91) as i64 * 60;
        let busy: Vec<(usize, i64, i64)> = vec![
            (console.0, console.1, console.1),
            (sg.0, sg.2, sg.2),
            (recon.0, recon.1, recon.1 + recon.5),
            (key.0, key.1, key.1),
            (acct_of_fl(del_fl), delete_fl.1, delete_fl.1),
            (root.0, root.1, root.1 + 1_200),
        ];
        let clash = busy
            .iter()
            .any(|&(acc, s, e)| acc == a && e >= t - 1_800 && s <= t + gap + 1_800);
        tamper = (a, t, kind, gap);
        if !clash {
            break;
        }
    }
    // Drawn last, so the other attacks stay where they were for a seed.
    let chain_if = pick_iface(r, w, |i| {
        live(i) && !special(i) && i != target && f.ifaces[i].role.public()
    });
    let chain_acct = acct_of_fl(f.ifaces[chain_if].flow_log);
    let mut chain = (chain_if, when(r, w));
    for _ in 0..200 {
        let (a, t0, _, gap) = tamper;
        if chain_acct != a || chain.1 + 7_200 < t0 - 1_800 || chain.1 > t0 + gap + 1_800 {
            break;
        }
        chain.1 = when(r, w);
    }
    Plan {
        scan,
        brute,
        exfil,
        shell,
        console,
        sg,
        recon,
        key,
        tamper,
        delete_fl,
        root,
        chain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unseen::world::build;

    #[test]
    fn attacks_start_after_warm_up_and_avoid_the_deleted_flow_log() {
        for seed in [7, 1234, 5] {
            let w = build(seed, 8);
            let p = draw(&w);
            for t in [
                p.scan.1,
                p.brute.1,
                p.exfil.1,
                p.shell.1,
                p.console.1,
                p.recon.1,
            ] {
                assert!(t >= w.day(2) && t < w.day(8));
            }
            for i in [p.scan.0, p.brute.0, p.exfil.0, p.shell.0] {
                assert_ne!(w.fleet.ifaces[i].flow_log, p.delete_fl.0);
            }
        }
    }
}
