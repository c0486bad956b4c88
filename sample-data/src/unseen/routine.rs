//! Routine change in an unseen scenario, which must stay quiet: a Terraform CI role applying
//! dozens of security-group changes that open nothing to the internet every few days (new
//! groups, rules between the VPC's own networks, the default allow-all egress, revocations,
//! deleted groups), and an onboarding (an administrator creates an IAM user with a console
//! password to change at first sign-in, adds it to a group; the new hire signs in with MFA the
//! same day and sets the password).

use crate::json::J;
use crate::prng::Rng;
use crate::time::{DAY, rfc3339};
use crate::trail_events::{Event, Principal, console_login};

use super::labels::label;
use super::trail::{CONSOLE_UA, TrailStory, sg_request};
use super::world::World;

/// The user agent of the Terraform AWS provider.
pub const TERRAFORM_UA: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.82.2 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.7 ua/2.1 os/linux lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.198.1";

/// One change of an apply: event name, request, response.
fn change(rng: &mut Rng, sg: &str, vpc: &str) -> (&'static str, J, J) {
    let internal = *rng.pick(&[
        "10.0.0.0/16",
        "10.1.0.0/16",
        "10.20.0.0/16",
        "172.16.0.0/12",
    ]);
    let port = *rng.pick(&[443i64, 8080, 5432, 6379, 9000, 22]);
    match rng.below(6) {
        0 => (
            "CreateSecurityGroup",
            J::obj([
                ("groupName", J::s(format!("svc-{}", rng.hex(6)))),
                ("groupDescription", J::s("Managed by Terraform")),
                ("vpcId", J::s(vpc)),
            ]),
            J::obj([("_return", J::Bool(true)), ("groupId", J::s(sg))]),
        ),
        1 => (
            "AuthorizeSecurityGroupEgress",
            sg_request(sg, "-1", -1, -1, "0.0.0.0/0"),
            J::obj([("_return", J::Bool(true))]),
        ),
        2 => (
            "RevokeSecurityGroupIngress",
            sg_request(sg, "tcp", port, port, internal),
            J::obj([("_return", J::Bool(true))]),
        ),
        3 => (
            "DeleteSecurityGroup",
            J::obj([("groupId", J::s(sg))]),
            J::obj([("_return", J::Bool(true))]),
        ),
        _ => (
            "AuthorizeSecurityGroupIngress",
            sg_request(sg, "tcp", port, port, internal),
            J::obj([("_return", J::Bool(true))]),
        ),
    }
}

/// Terraform applies by each account's CI role, every two to four days.
pub fn terraform(ts: &mut TrailStory, w: &World, rng: &mut Rng) {
    for (a, acct) in w.accounts.iter().enumerate() {
        let ids = &acct.ids;
        let home = TrailStory::home(w, a);
        let vpc = w
            .fleet
            .flow_logs
            .iter()
            .find(|f| f.account_id == ids.account)
            .map_or_else(|| "vpc-0a1b2c3d".to_string(), |f| f.vpc_id.clone());
        let mut day = rng.range(0, 2) as i64;
        while day < w.days {
            let run = format!("tf-apply-{}", rng.hex(8));
            let who = Principal::role(rng, &ids.account, "terraform-ci", &run);
            let t0 = w.day(day) + rng.range(3_600, (DAY - 7_200) as u64) as i64;
            let n = rng.range(24, 61);
            let mut t = t0;
            for _ in 0..n {
                let sg = format!("sg-0{}", rng.hex(16));
                let (name, req, resp) = change(rng, &sg, &vpc);
                let e = Event::api(
                    rng,
                    t,
                    &who,
                    Some((t0 - 30, false)),
                    "ec2.amazonaws.com",
                    name,
                    &home,
                    &ids.ci_ip,
                    TERRAFORM_UA,
                )
                .req(req)
                .resp(resp);
                ts.push(w, a, &home, e);
                t += rng.range(1, 8) as i64;
            }
            ts.benign.push(label(
                "security_group_change",
                "principal",
                &who.arn(),
                &ids.account,
                &home,
                t0,
                t,
                format!("routine change: a Terraform apply by the CI role makes {n} security-group changes that open nothing to the internet"),
            ));
            day += rng.range(2, 5) as i64;
        }
    }
}

/// An onboarding in one account: a new IAM user, its console password, its group, and the new
/// hire's first sign-in with MFA.
pub fn onboarding(ts: &mut TrailStory, w: &World, rng: &mut Rng) {
    let a = rng.below(w.accounts.len() as u64) as usize;
    let ids = &w.accounts[a].ids;
    let admin = ids.admins[0].clone();
    let name = format!("new.hire{}", rng.range(10, 99));
    let hire = Principal::user(rng, &ids.account, &name);
    let t0 = w.day(rng.range(1, w.days as u64) as i64) + 14 * 3_600 + rng.below(3_600) as i64;
    let session = Some((t0 - 1_200, true));
    let calls: [(&str, J); 3] = [
        ("CreateUser", J::obj([("userName", J::s(name.clone()))])),
        (
            "AddUserToGroup",
            J::obj([
                ("groupName", J::s("developers")),
                ("userName", J::s(name.clone())),
            ]),
        ),
        (
            "CreateLoginProfile",
            J::obj([
                ("userName", J::s(name.clone())),
                ("passwordResetRequired", J::Bool(true)),
            ]),
        ),
    ];
    let mut t = t0;
    for (call, req) in calls {
        let mut e = Event::api(
            rng,
            t,
            &admin,
            session,
            "iam.amazonaws.com",
            call,
            "us-east-1",
            &ids.office,
            CONSOLE_UA,
        )
        .req(req);
        if call == "CreateUser" {
            e = e.resp(J::obj([(
                "user",
                J::obj([
                    ("userName", J::s(name.clone())),
                    ("arn", J::s(hire.arn())),
                    ("createDate", J::s(rfc3339(t))),
                ]),
            )]));
        }
        ts.push(w, a, "us-east-1", e);
        t += rng.range(20, 90) as i64;
    }
    let login = t + rng.range(1_800, 7_200) as i64;
    ts.push(
        w,
        a,
        "us-east-1",
        console_login(rng, login, &hire, "us-east-1", &ids.office, true, true),
    );
    let e = Event::api(
        rng,
        login + 40,
        &hire,
        Some((login, true)),
        "iam.amazonaws.com",
        "ChangePassword",
        "us-east-1",
        &ids.office,
        CONSOLE_UA,
    );
    ts.push(w, a, "us-east-1", e);
    for who in [admin.arn(), hire.arn()] {
        ts.benign.push(label(
            "login_profile_for_other_user",
            "principal",
            &who,
            &ids.account,
            "us-east-1",
            t0,
            login + 40,
            format!("routine change: onboarding of {name} by {} (CreateUser, AddUserToGroup, CreateLoginProfile with a reset required), then the new hire's first console sign-in with MFA", admin.name),
        ));
    }
}
