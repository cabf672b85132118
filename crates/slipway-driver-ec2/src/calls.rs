//! The EC2 calls a run makes, with their responses read into types: a key pair and a security
//! group per run, one RunInstances per node, one DescribeInstances per poll (filtered by the run
//! tag), and the teardown. Calls that create something are idempotent: a retried call finds what
//! the first one made instead of making it twice.

use serde::Deserialize;

use crate::api::{ApiError, Ec2Api};

/// The tag keys every resource of a run carries.
pub const TAG_RUN: &str = "slipway:run";
pub const TAG_NODE: &str = "slipway:node";
pub const TAG_INDEX: &str = "slipway:index";
/// The client token of the RunInstances call that made an instance.
pub const TAG_LAUNCH: &str = "slipway:launch";

/// One EC2 instance as DescribeInstances or RunInstances report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ec2Instance {
    pub id: String,
    /// `pending`, `running`, `shutting-down`, `terminated`, `stopping`, `stopped`.
    pub state: String,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub tags: Vec<(String, String)>,
    /// The RunInstances call's position of this instance (`amiLaunchIndex`, 0-based).
    pub launch_index: u32,
}

impl Ec2Instance {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What one RunInstances call creates: `count` instances of one node.
#[derive(Clone, Debug)]
pub struct RunRequest<'a> {
    pub run_id: &'a str,
    pub node: &'a str,
    pub ami: &'a str,
    pub instance_type: &'a str,
    pub count: u32,
    pub key_name: &'a str,
    pub group_id: &'a str,
    pub subnet_id: Option<&'a str>,
    /// Same token, same instances: a retried call never creates duplicates.
    pub client_token: &'a str,
}

fn p(k: impl Into<String>, v: impl Into<String>) -> (String, String) {
    (k.into(), v.into())
}

#[derive(Deserialize)]
struct Items<T> {
    #[serde(rename = "item", default = "Vec::new")]
    item: Vec<T>,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items { item: Vec::new() }
    }
}

#[derive(Deserialize)]
struct InstanceXml {
    #[serde(rename = "instanceId")]
    id: String,
    #[serde(rename = "instanceState")]
    state: StateXml,
    #[serde(rename = "privateIpAddress", default)]
    private_ip: Option<String>,
    #[serde(rename = "ipAddress", default)]
    public_ip: Option<String>,
    #[serde(rename = "tagSet", default)]
    tags: Items<TagXml>,
    #[serde(rename = "amiLaunchIndex", default)]
    launch_index: u32,
}

#[derive(Deserialize)]
struct StateXml {
    name: String,
}

#[derive(Deserialize)]
struct TagXml {
    key: String,
    #[serde(default)]
    value: String,
}

impl From<InstanceXml> for Ec2Instance {
    fn from(x: InstanceXml) -> Ec2Instance {
        Ec2Instance {
            id: x.id,
            state: x.state.name,
            private_ip: x.private_ip.filter(|s| !s.is_empty()),
            public_ip: x.public_ip.filter(|s| !s.is_empty()),
            tags: x.tags.item.into_iter().map(|t| (t.key, t.value)).collect(),
            launch_index: x.launch_index,
        }
    }
}

fn parse<T: for<'de> Deserialize<'de>>(action: &str, xml: &str) -> Result<T, ApiError> {
    quick_xml::de::from_str(xml).map_err(|e| ApiError {
        code: "BadResponse".into(),
        message: format!("cannot read the answer to {action}: {e}"),
        status: None,
    })
}

fn tag_spec(params: &mut Vec<(String, String)>, n: usize, kind: &str, tags: &[(&str, &str)]) {
    params.push(p(format!("TagSpecification.{n}.ResourceType"), kind));
    for (i, (k, v)) in tags.iter().enumerate() {
        params.push(p(format!("TagSpecification.{n}.Tag.{}.Key", i + 1), *k));
        params.push(p(format!("TagSpecification.{n}.Tag.{}.Value", i + 1), *v));
    }
}

impl Ec2Api {
    /// Imports the run's public key (OpenSSH format) under `name`; an existing pair of that name
    /// is kept (a retried call).
    pub async fn import_key_pair(
        &self,
        name: &str,
        run_id: &str,
        public_key: &str,
    ) -> Result<(), ApiError> {
        let mut params = vec![
            p("KeyName", name),
            p("PublicKeyMaterial", base64(public_key.as_bytes())),
        ];
        tag_spec(&mut params, 1, "key-pair", &[(TAG_RUN, run_id)]);
        match self.call("ImportKeyPair", &params).await {
            Err(e) if e.code == "InvalidKeyPair.Duplicate" => Ok(()),
            other => other.map(drop),
        }
    }

    /// Deletes a key pair; one that is gone already is fine.
    pub async fn delete_key_pair(&self, name: &str) -> Result<(), ApiError> {
        match self.call("DeleteKeyPair", &[p("KeyName", name)]).await {
            Err(e) if e.code == "InvalidKeyPair.NotFound" => Ok(()),
            other => other.map(drop),
        }
    }

    /// Key pair names starting with `prefix`.
    pub async fn key_pairs(&self, prefix: &str) -> Result<Vec<String>, ApiError> {
        #[derive(Deserialize)]
        struct Response {
            #[serde(rename = "keySet", default)]
            keys: Items<KeyXml>,
        }
        #[derive(Deserialize)]
        struct KeyXml {
            #[serde(rename = "keyName")]
            name: String,
        }
        let xml = self.call("DescribeKeyPairs", &[]).await?;
        let r: Response = parse("DescribeKeyPairs", &xml)?;
        Ok(r.keys
            .item
            .into_iter()
            .map(|k| k.name)
            .filter(|n| n.starts_with(prefix))
            .collect())
    }

    /// The run's security group `name` (created, or found when a retried call made it already):
    /// port 22 open to `ssh_cidr`, all traffic between members. Returns its id.
    pub async fn ensure_security_group(
        &self,
        name: &str,
        run_id: &str,
        ssh_cidr: &str,
    ) -> Result<String, ApiError> {
        #[derive(Deserialize)]
        struct Created {
            #[serde(rename = "groupId")]
            id: String,
        }
        let mut params = vec![
            p("GroupName", name),
            p("GroupDescription", format!("Slipway run {run_id}")),
        ];
        tag_spec(&mut params, 1, "security-group", &[(TAG_RUN, run_id)]);
        let id = match self.call("CreateSecurityGroup", &params).await {
            Ok(xml) => parse::<Created>("CreateSecurityGroup", &xml)?.id,
            Err(e) if e.code == "InvalidGroup.Duplicate" => self
                .security_groups_named(name)
                .await?
                .into_iter()
                .next()
                .ok_or(e)?,
            Err(e) => return Err(e),
        };
        let rules = [
            p("IpPermissions.1.IpProtocol", "tcp"),
            p("IpPermissions.1.FromPort", "22"),
            p("IpPermissions.1.ToPort", "22"),
            p("IpPermissions.1.IpRanges.1.CidrIp", ssh_cidr),
            p("IpPermissions.2.IpProtocol", "-1"),
            p("IpPermissions.2.Groups.1.GroupId", id.clone()),
        ];
        let mut params = vec![p("GroupId", id.clone())];
        params.extend(rules);
        match self.call("AuthorizeSecurityGroupIngress", &params).await {
            Err(e) if e.code == "InvalidPermission.Duplicate" => {}
            other => {
                other?;
            }
        }
        Ok(id)
    }

    /// Ids of the security groups called `name`.
    pub async fn security_groups_named(&self, name: &str) -> Result<Vec<String>, ApiError> {
        self.security_groups(&[
            p("Filter.1.Name", "group-name"),
            p("Filter.1.Value.1", name),
        ])
        .await
        .map(|g| g.into_iter().map(|(id, _)| id).collect())
    }

    /// (id, name) of the security groups whose name starts with `prefix`.
    pub async fn security_groups_with_prefix(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, ApiError> {
        Ok(self
            .security_groups(&[])
            .await?
            .into_iter()
            .filter(|(_, n)| n.starts_with(prefix))
            .collect())
    }

    async fn security_groups(
        &self,
        filters: &[(String, String)],
    ) -> Result<Vec<(String, String)>, ApiError> {
        #[derive(Deserialize)]
        struct Response {
            #[serde(rename = "securityGroupInfo", default)]
            groups: Items<GroupXml>,
        }
        #[derive(Deserialize)]
        struct GroupXml {
            #[serde(rename = "groupId")]
            id: String,
            #[serde(rename = "groupName")]
            name: String,
        }
        let xml = self.call("DescribeSecurityGroups", filters).await?;
        let r: Response = parse("DescribeSecurityGroups", &xml)?;
        Ok(r.groups.item.into_iter().map(|g| (g.id, g.name)).collect())
    }

    /// Deletes a security group; one that is gone is fine. EC2 refuses while instances that use
    /// it still exist (`DependencyViolation`): the caller waits for `terminated` first.
    pub async fn delete_security_group(&self, id: &str) -> Result<(), ApiError> {
        match self.call("DeleteSecurityGroup", &[p("GroupId", id)]).await {
            Err(e) if e.code == "InvalidGroup.NotFound" => Ok(()),
            other => other.map(drop),
        }
    }

    /// One RunInstances call: `count` instances of a node, tagged in the same call.
    pub async fn run_instances(&self, r: &RunRequest<'_>) -> Result<Vec<Ec2Instance>, ApiError> {
        #[derive(Deserialize)]
        struct Response {
            #[serde(rename = "instancesSet", default)]
            instances: Items<InstanceXml>,
        }
        let count = r.count.to_string();
        let mut params = vec![
            p("ImageId", r.ami),
            p("InstanceType", r.instance_type),
            p("MinCount", count.clone()),
            p("MaxCount", count),
            p("KeyName", r.key_name),
            p("ClientToken", r.client_token),
        ];
        match r.subnet_id {
            Some(subnet) => {
                params.push(p("NetworkInterface.1.DeviceIndex", "0"));
                params.push(p("NetworkInterface.1.SubnetId", subnet));
                params.push(p("NetworkInterface.1.SecurityGroupId.1", r.group_id));
                params.push(p("NetworkInterface.1.AssociatePublicIpAddress", "true"));
            }
            None => params.push(p("SecurityGroupId.1", r.group_id)),
        }
        let tags = [
            (TAG_RUN, r.run_id),
            (TAG_NODE, r.node),
            (TAG_LAUNCH, r.client_token),
        ];
        tag_spec(&mut params, 1, "instance", &tags);
        // Retried here rather than in `call`: when an attempt failed in a way that leaves open
        // whether EC2 acted on it (5xx, a dropped connection), the instances it would have made
        // are looked for first. AWS also honours the ClientToken; not every EC2-compatible
        // endpoint does (moto does not).
        let mut pause = self.retry.first_pause;
        let mut attempt = 1;
        loop {
            match self.call_once("RunInstances", &params).await {
                Ok(xml) => {
                    let r: Response = parse("RunInstances", &xml)?;
                    return Ok(r
                        .instances
                        .item
                        .into_iter()
                        .map(Ec2Instance::from)
                        .collect());
                }
                Err(e) if e.is_retryable() && attempt < self.retry.attempts => {
                    tokio::time::sleep(crate::api::jitter(pause)).await;
                    pause = (pause * 2).min(self.retry.max_pause);
                    attempt += 1;
                    let made = self.launched(r.run_id, r.client_token).await?;
                    if !made.is_empty() {
                        return Ok(made);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The live instances one RunInstances call (its client token) made.
    async fn launched(&self, run_id: &str, token: &str) -> Result<Vec<Ec2Instance>, ApiError> {
        Ok(self
            .run_instances_of(run_id)
            .await?
            .into_iter()
            .filter(|i| i.tag(TAG_LAUNCH) == Some(token))
            .filter(|i| !matches!(i.state.as_str(), "terminated" | "shutting-down"))
            .collect())
    }

    /// Tags instances (the per-instance `slipway:index`, known only once they exist).
    pub async fn tag(&self, ids: &[&str], key: &str, value: &str) -> Result<(), ApiError> {
        let mut params: Vec<(String, String)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| p(format!("ResourceId.{}", i + 1), *id))
            .collect();
        params.push(p("Tag.1.Key", key));
        params.push(p("Tag.1.Value", value));
        self.call("CreateTags", &params).await.map(drop)
    }

    /// Every instance tagged with the run, in one call (all its pages).
    pub async fn run_instances_of(&self, run_id: &str) -> Result<Vec<Ec2Instance>, ApiError> {
        self.instances_where(vec![
            p("Filter.1.Name", format!("tag:{TAG_RUN}")),
            p("Filter.1.Value.1", run_id),
        ])
        .await
    }

    /// Every instance with a `slipway:run` tag, whichever run (for sweeps).
    pub async fn tagged_instances(&self) -> Result<Vec<Ec2Instance>, ApiError> {
        self.instances_where(vec![
            p("Filter.1.Name", "tag-key"),
            p("Filter.1.Value.1", TAG_RUN),
        ])
        .await
    }

    async fn instances_where(
        &self,
        filters: Vec<(String, String)>,
    ) -> Result<Vec<Ec2Instance>, ApiError> {
        #[derive(Deserialize)]
        struct Response {
            #[serde(rename = "reservationSet", default)]
            reservations: Items<Reservation>,
            #[serde(rename = "nextToken", default)]
            next: Option<String>,
        }
        #[derive(Deserialize)]
        struct Reservation {
            #[serde(rename = "instancesSet", default)]
            instances: Items<InstanceXml>,
        }
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let mut params = filters.clone();
            if let Some(token) = &next {
                params.push(p("NextToken", token.clone()));
            }
            let xml = self.call("DescribeInstances", &params).await?;
            let r: Response = parse("DescribeInstances", &xml)?;
            out.extend(
                r.reservations
                    .item
                    .into_iter()
                    .flat_map(|res| res.instances.item)
                    .map(Ec2Instance::from),
            );
            match r.next.filter(|t| !t.is_empty()) {
                Some(t) => next = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Terminates instances (unknown ids are skipped by the caller: EC2 fails the whole call).
    pub async fn terminate_instances(&self, ids: &[&str]) -> Result<(), ApiError> {
        if ids.is_empty() {
            return Ok(());
        }
        let params: Vec<(String, String)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| p(format!("InstanceId.{}", i + 1), *id))
            .collect();
        self.call("TerminateInstances", &params).await.map(drop)
    }
}

/// Standard base64 with padding (for `PublicKeyMaterial`).
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_pads() {
        assert_eq!(super::base64(b"ssh"), "c3No");
        assert_eq!(super::base64(b"ss"), "c3M=");
        assert_eq!(super::base64(b"s"), "cw==");
    }
}
