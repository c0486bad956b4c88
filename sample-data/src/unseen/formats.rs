//! Custom flow-log formats of the unseen scenario, in field orders the committed sample does
//! not use (the default v2 and [`crate::flowlog::CUSTOM_V5`] are reused as they are).

use crate::flowlog::{Fld, FlowFormat};

/// Version 3 fields, VPC/subnet/instance first and bytes before packets.
pub static CUSTOM_V3: FlowFormat = FlowFormat {
    name: "custom-v3",
    version: 3,
    fields: &[
        Fld::VpcId,
        Fld::SubnetId,
        Fld::InstanceId,
        Fld::InterfaceId,
        Fld::AccountId,
        Fld::Type,
        Fld::SrcAddr,
        Fld::DstAddr,
        Fld::SrcPort,
        Fld::DstPort,
        Fld::PktSrcAddr,
        Fld::PktDstAddr,
        Fld::Protocol,
        Fld::Bytes,
        Fld::Packets,
        Fld::Start,
        Fld::End,
        Fld::Action,
        Fld::TcpFlags,
        Fld::LogStatus,
    ],
};

/// Version 5 fields with instance-id, subnet-id and flow-direction, start/end before the
/// addresses and the version last.
pub static CUSTOM_V5_DIRECTION: FlowFormat = FlowFormat {
    name: "custom-v5-direction",
    version: 5,
    fields: &[
        Fld::AccountId,
        Fld::Region,
        Fld::AzId,
        Fld::InterfaceId,
        Fld::InstanceId,
        Fld::SubnetId,
        Fld::FlowDirection,
        Fld::TrafficPath,
        Fld::Start,
        Fld::End,
        Fld::SrcAddr,
        Fld::SrcPort,
        Fld::DstAddr,
        Fld::DstPort,
        Fld::Protocol,
        Fld::Packets,
        Fld::Bytes,
        Fld::Action,
        Fld::TcpFlags,
        Fld::LogStatus,
        Fld::Version,
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::{CUSTOM_V5, DEFAULT_V2};

    #[test]
    fn orders_differ_from_each_other_and_the_sample() {
        let headers = [
            DEFAULT_V2.header(),
            CUSTOM_V5.header(),
            CUSTOM_V3.header(),
            CUSTOM_V5_DIRECTION.header(),
        ];
        for (i, a) in headers.iter().enumerate() {
            for b in &headers[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert!(CUSTOM_V5_DIRECTION.header().contains("flow-direction"));
        assert!(CUSTOM_V5_DIRECTION.header().contains("subnet-id"));
        assert!(CUSTOM_V5_DIRECTION.header().contains("instance-id"));
    }
}
