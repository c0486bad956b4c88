-- id: nacl_allow_all
-- title: Network ACL {nacl} allows {ports} in from {cidr} ({principal})
-- severity: high
-- entity: principal:principal
-- dedupe: principal, nacl
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.007
-- description: CreateNetworkAclEntry or ReplaceNetworkAclEntry adding an inbound allow rule
--   from the whole internet (any `/0`) for all protocols or a port range covering SSH (22) or
--   RDP (3389). High by a person or script, medium by IaC (Terraform, CloudFormation), which
--   rebuilds allow-all default-style ACLs. Low when a person or script opens other ports to
--   the whole internet (a service port no one reviewed, 700-702): world-open all the same.
--   Quiet on routine change: web ports alone (80, 443), ICMP, IaC opening ports other than admin
--   ones, egress rules, deny rules, inbound rules from narrower ranges, failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'networkAclId'), 'unknown') AS nacl,
        coalesce(json_get_str(request_parameters, 'cidrBlock'), json_get_str(request_parameters, 'ipv6CidrBlock')) AS cidr,
        lower(coalesce(json_get_str(request_parameters, 'aclProtocol'),
                       CAST(json_get_int(request_parameters, 'aclProtocol') AS VARCHAR), '')) AS proto,
        json_get_int(request_parameters, 'portRange', 'from') AS from_port,
        json_get_int(request_parameters, 'portRange', 'to') AS to_port,
        (coalesce(user_identity_invoked_by, '') = 'cloudformation.amazonaws.com'
         OR regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk|crossplane')) AS automation
    FROM cloudtrail
    WHERE event_source = 'ec2.amazonaws.com'
      AND event_name IN ('CreateNetworkAclEntry', 'ReplaceNetworkAclEntry')
      AND error_code IS NULL
      AND lower(coalesce(json_get_str(request_parameters, 'ruleAction'), '')) = 'allow'
      AND NOT coalesce(json_get_bool(request_parameters, 'egress'), false)
),
hit AS (
    SELECT
        *,
        CASE WHEN proto IN ('-1', 'all') THEN 'all traffic'
             ELSE concat(proto, ':', coalesce(CAST(from_port AS VARCHAR), '*'), '-', coalesce(CAST(to_port AS VARCHAR), '*')) END AS ports
    FROM ev
    WHERE regexp_like(coalesce(cidr, ''), '/0$')
),
judged AS (
    SELECT
        *,
        (proto IN ('-1', 'all')
         OR (proto IN ('6', 'tcp', '17', 'udp')
             AND (from_port IS NULL OR to_port IS NULL
                  OR (from_port <= 22 AND to_port >= 22)
                  OR (from_port <= 3389 AND to_port >= 3389)))) AS admin
    FROM hit
    WHERE proto IN ('-1', 'all', '6', 'tcp', '17', 'udp')
      AND NOT (proto IN ('6', 'tcp') AND from_port IS NOT NULL AND to_port IS NOT NULL
               AND ((from_port = 80 AND to_port = 80) OR (from_port = 443 AND to_port = 443)))
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    nacl,
    CASE WHEN bool_or(admin AND NOT automation) THEN 'high'
         WHEN bool_or(admin) THEN 'medium'
         ELSE 'low' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT cidr)), ', ') AS cidr,
    array_to_string(array_sort(array_agg(DISTINCT ports)), ', ') AS ports,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM judged
WHERE admin OR NOT automation
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, nacl
