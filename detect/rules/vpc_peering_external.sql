-- id: vpc_peering_external
-- title: VPC peering with account {peer_account} ({event_names} by {principal})
-- severity: high
-- entity: principal:principal
-- dedupe: principal, peer_account
-- window: 10m
-- table: cloudtrail
-- attack: TA0010 TA0008; T1599 T1537
-- description: CreateVpcPeeringConnection to a VPC owned by another account (peerOwnerId
--   other than the recipient account), or AcceptVpcPeeringConnection of a request from
--   another account: a network path into or out of the account's VPCs. Quiet on routine
--   change: peering between VPCs of the same account, failed calls. Known partner or
--   shared-services accounts belong in the suppression allow-list.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(recipient_account_id, account_id) AS own,
        CASE WHEN event_name = 'CreateVpcPeeringConnection'
             THEN json_get_str(request_parameters, 'peerOwnerId')
             ELSE json_get_str(response_elements, 'vpcPeeringConnection', 'requesterVpcInfo', 'ownerId')
        END AS peer_account,
        coalesce(json_get_str(request_parameters, 'vpcPeeringConnectionId'),
                 json_get_str(response_elements, 'vpcPeeringConnection', 'vpcPeeringConnectionId')) AS peering_id
    FROM cloudtrail
    WHERE event_source = 'ec2.amazonaws.com'
      AND event_name IN ('CreateVpcPeeringConnection', 'AcceptVpcPeeringConnection')
      AND error_code IS NULL
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    peer_account,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_sort(array_agg(DISTINCT peering_id)) AS peerings,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
WHERE peer_account IS NOT NULL AND peer_account <> own
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, peer_account
