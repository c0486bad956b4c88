//! The attack sequence of an unseen scenario: a public instance, launched on day 0 with a
//! security group of its own (`RunInstances`, which links group, instance and address), has
//! that group opened to SSH from the whole internet by a user from an outside address; within
//! the hour a source on the internet brute-forces SSH on it, is accepted, holds a long session,
//! and the instance then downloads from a server it never talked to. Labelled as its parts
//! (`security_group_change`, `ssh_brute_force`) and as the whole (`attack_sequence`).

use crate::fleet::ip_str;
use crate::json::J;
use crate::prng::Rng;
use crate::traffic::Conn;
use crate::trail_events::Event;

use super::labels::{entity_of, label};
use super::net::{NetStory, ephemeral};
use super::plan::Plan;
use super::trail::{CLI_UA, TrailStory, sg_request};
use super::world::World;

/// What both halves share, drawn from the seed.
struct Shape {
    group: String,
    attacker: u32,
    /// Brute force: start (s after the opening), attempts, attempts per minute.
    brute: (i64, u64, u64),
}

fn shape(w: &World) -> Shape {
    let mut rng = Rng::derive(w.seed, "unseen/chain");
    Shape {
        group: format!("sg-0{}", rng.hex(16)),
        attacker: rng.public_ipv4(),
        brute: (
            rng.range(600, 2_700) as i64,
            rng.range(60, 200),
            rng.range(10, 25),
        ),
    }
}

/// The brute force's end and the break-in session's end.
fn brute_end(s: &Shape, t_open: i64) -> (i64, i64) {
    let (after, attempts, per_min) = s.brute;
    let end = t_open + after + (attempts * 60 / per_min) as i64 + 60;
    (end, end + 900)
}

/// The CloudTrail half: the launch on day 0 and the opening of the group.
pub fn trail(ts: &mut TrailStory, w: &World, rng: &mut Rng, p: &Plan) {
    let (i, t) = p.chain;
    let s = shape(w);
    let f = &w.fleet.ifaces[i];
    let a = w.account_index(&f.account_id);
    let ids = &w.accounts[a].ids;
    let admin = ids.admins[0].clone();
    let launch = w.d0 + 300;
    let item = J::obj([
        ("instanceId", J::s(entity_of(&w.fleet, i))),
        ("instanceType", J::s("t3.small")),
        ("privateIpAddress", J::s(ip_str(f.ip))),
        ("subnetId", J::s(f.subnet_id.clone())),
        (
            "groupSet",
            J::obj([(
                "items",
                J::Arr(vec![J::obj([("groupId", J::s(s.group.clone()))])]),
            )]),
        ),
        (
            "networkInterfaceSet",
            J::obj([(
                "items",
                J::Arr(vec![J::obj([
                    ("networkInterfaceId", J::s(f.eni.clone())),
                    ("privateIpAddress", J::s(ip_str(f.ip))),
                ])]),
            )]),
        ),
    ]);
    let e = Event::api(
        rng,
        launch,
        &admin,
        Some((launch - 600, true)),
        "ec2.amazonaws.com",
        "RunInstances",
        &f.region,
        &ids.office,
        CLI_UA,
    )
    .req(J::obj([
        ("instanceType", J::s("t3.small")),
        ("subnetId", J::s(f.subnet_id.clone())),
    ]))
    .resp(J::obj([(
        "instancesSet",
        J::obj([("items", J::Arr(vec![item]))]),
    )]));
    ts.push(w, a, &f.region, e);

    let who = rng.pick(&ids.others).clone();
    let ip = ip_str(rng.public_ipv4());
    let e = Event::api(
        rng,
        t,
        &who,
        None,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        &f.region,
        &ip,
        CLI_UA,
    )
    .req(sg_request(&s.group, "tcp", 22, 22, "0.0.0.0/0"))
    .resp(J::obj([("_return", J::Bool(true))]));
    ts.push(w, a, &f.region, e);
    ts.labels.push(label(
        "security_group_change",
        "security_group",
        &s.group,
        &ids.account,
        &f.region,
        t,
        t,
        format!(
            "{} opens SSH on {} (the group of {}) to 0.0.0.0/0 from {ip}",
            who.name, s.group, f.name
        ),
    ));
    let (_, end) = brute_end(&s, t);
    ts.labels.push(label(
        "attack_sequence",
        "instance",
        &entity_of(&w.fleet, i),
        &ids.account,
        &f.region,
        t,
        end,
        format!(
            "attack sequence on {}: its group {} opened to SSH from the world, then an accepted SSH brute force from {} and a long session",
            f.name,
            s.group,
            ip_str(s.attacker)
        ),
    ));
}

/// The flow-log half: the brute force, the session, the download.
pub fn net(ns: &mut NetStory, w: &World, rng: &mut Rng, p: &Plan) {
    let (i, t_open) = p.chain;
    let s = shape(w);
    let tg = &w.fleet.ifaces[i];
    let (after, attempts, per_min) = s.brute;
    let t0 = t_open + after;
    let mut sport = ephemeral(rng);
    for k in 0..attempts {
        let t = t0 + (k * 60 / per_min) as i64;
        let mut c = Conn::tcp(s.attacker, tg.ip, 22, t, rng.range(2, 9) as i64)
            .sizes(rng.range(2_400, 4_200), rng.range(3_000, 5_200));
        c.sport = sport;
        sport = if sport >= 60_990 { 32_768 } else { sport + 3 };
        c.dst_if = Some(i);
        ns.push(tg.flow_log, c);
    }
    let (end, _) = brute_end(&s, t_open);
    let mut c = Conn::tcp(s.attacker, tg.ip, 22, end, 840)
        .sizes(rng.range(40_000, 90_000), rng.range(200_000, 400_000));
    c.sport = sport;
    c.dst_if = Some(i);
    ns.push(tg.flow_log, c);
    let mut c = Conn::tcp(tg.ip, rng.public_ipv4(), 443, end + 120, 60)
        .sizes(rng.range(2_000, 5_000), rng.range(3_000_000, 9_000_000));
    c.sport = ephemeral(rng);
    c.src_if = Some(i);
    ns.push(tg.flow_log, c);
    ns.labels.push(label(
        "ssh_brute_force",
        "instance",
        &entity_of(&w.fleet, i),
        &tg.account_id,
        &tg.region,
        t0,
        end,
        format!(
            "{attempts} SSH attempts ({per_min}/min, accepted) from {} to {} ({}) minutes after its group was opened, then a long session and a download",
            ip_str(s.attacker),
            tg.name,
            ip_str(tg.ip)
        ),
    ));
}
