//! The EC2 Query API: `Action=…&Version=2016-11-15&…` POSTed as a form, signed with SigV4, answered
//! in XML.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use slipway_driver::{DriverError, ErrorKind};

/// The API version every request names.
pub const VERSION: &str = "2016-11-15";

/// Who signs the requests. `Debug` never shows the secret parts.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// How failed calls are retried.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Calls in all, the first included.
    pub attempts: u32,
    /// The first pause; each next one doubles (with jitter), up to `max_pause`.
    pub first_pause: Duration,
    pub max_pause: Duration,
    /// One request's time limit.
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 8,
            first_pause: Duration::from_millis(200),
            max_pause: Duration::from_secs(20),
            timeout: Duration::from_secs(30),
        }
    }
}

/// An EC2 endpoint in one region.
#[derive(Clone, Debug)]
pub struct Ec2Api {
    http: reqwest::Client,
    endpoint: String,
    host: String,
    region: String,
    credentials: Credentials,
    pub retry: Retry,
    /// Requests sent, by action (retries included): what a run costs in API calls.
    pub calls: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, u32>>>,
}

/// An error answered by EC2 (`<Code>` and `<Message>`), or a transport failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The AWS error code (`RequestLimitExceeded`, `InvalidAMIID.NotFound`, …); for transport
    /// failures `Http` or `Transport`.
    pub code: String,
    pub message: String,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
}

impl ApiError {
    /// Whether the same call may succeed later: throttling, 5xx, timeouts, dropped connections.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.code.as_str(),
            "RequestLimitExceeded"
                | "Throttling"
                | "ThrottlingException"
                | "RequestThrottled"
                | "InternalError"
                | "InternalFailure"
                | "ServiceUnavailable"
                | "Unavailable"
                | "Transport"
        ) || self.status.is_some_and(|s| s >= 500)
    }

    /// The kind the engine acts on.
    pub fn kind(&self) -> ErrorKind {
        let code = self.code.as_str();
        if self.is_retryable() {
            ErrorKind::Transient
        } else if matches!(
            code,
            "AuthFailure"
                | "SignatureDoesNotMatch"
                | "InvalidClientTokenId"
                | "UnauthorizedOperation"
                | "MissingAuthenticationToken"
                | "OptInRequired"
                | "Blocked"
        ) {
            ErrorKind::Auth
        } else if code.ends_with("LimitExceeded") || code == "InsufficientInstanceCapacity" {
            ErrorKind::Quota
        } else if code.ends_with(".NotFound") {
            ErrorKind::NotFound
        } else if matches!(code, "InvalidParameterValue" | "InvalidAMIID.Malformed") {
            ErrorKind::BadSettings
        } else {
            ErrorKind::Other
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<ApiError> for DriverError {
    fn from(e: ApiError) -> DriverError {
        DriverError::new(e.kind(), format!("EC2 answered {e}"))
    }
}

/// Percent-encodes as Python's `urlencode` does (what moto and AWS accept): letters, digits and
/// `-_.~` stay, a space becomes `+`, everything else `%XX`.
pub fn form_encode(params: &[(String, String)]) -> String {
    fn enc(text: &str, out: &mut String) {
        for b in text.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}

impl Ec2Api {
    /// `endpoint`: `https://ec2.REGION.amazonaws.com` when `None`.
    pub fn new(
        region: &str,
        endpoint: Option<&str>,
        credentials: Credentials,
    ) -> Result<Ec2Api, DriverError> {
        let endpoint = endpoint
            .map(|e| e.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("https://ec2.{region}.amazonaws.com"));
        let host = endpoint
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(&endpoint)
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        if host.is_empty() {
            return Err(DriverError::bad_settings(format!(
                "`{endpoint}` is not an endpoint URL"
            )));
        }
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| DriverError::other(format!("cannot create an HTTP client: {e}")))?;
        Ok(Ec2Api {
            http,
            endpoint: format!("{endpoint}/"),
            host,
            region: region.to_string(),
            credentials,
            retry: Retry::default(),
            calls: Default::default(),
        })
    }

    /// Calls `action` with `params`, retrying what may succeed later; returns the response XML.
    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &str {
        self.endpoint.trim_end_matches('/')
    }

    pub async fn call(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, ApiError> {
        let mut pause = self.retry.first_pause;
        let mut attempt = 1;
        loop {
            match self.call_once(action, params).await {
                Err(e) if e.is_retryable() && attempt < self.retry.attempts => {
                    tokio::time::sleep(jitter(pause)).await;
                    pause = (pause * 2).min(self.retry.max_pause);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One signed request, no retries.
    pub async fn call_once(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, ApiError> {
        let mut all = vec![
            ("Action".to_string(), action.to_string()),
            ("Version".to_string(), VERSION.to_string()),
        ];
        all.extend_from_slice(params);
        let body = form_encode(&all);
        *self
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(action.to_string())
            .or_default() += 1;
        let headers = self.sign(&body)?;
        let mut request = self
            .http
            .post(&self.endpoint)
            .timeout(self.retry.timeout)
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| ApiError {
            code: "Transport".into(),
            message: format!("{action} to {} failed: {}", self.host, error_chain(&e)),
            status: None,
        })?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| ApiError {
            code: "Transport".into(),
            message: format!("{action}: the answer was cut off: {}", error_chain(&e)),
            status: Some(status),
        })?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        Err(parse_error(status, &text))
    }

    fn sign(&self, body: &str) -> Result<Vec<(String, String)>, ApiError> {
        let failed = |e: &dyn std::fmt::Display| ApiError {
            code: "Signing".into(),
            message: format!("cannot sign the request: {e}"),
            status: None,
        };
        let identity: Identity = AwsCredentials::new(
            &self.credentials.access_key_id,
            &self.credentials.secret_access_key,
            self.credentials.session_token.clone(),
            None,
            "slipway",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("ec2")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| failed(&e))?
            .into();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let headers = [("content-type", content_type), ("host", self.host.as_str())];
        let signable = SignableRequest::new(
            "POST",
            &self.endpoint,
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| failed(&e))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| failed(&e))?
            .into_parts();
        let mut out: Vec<(String, String)> = vec![("content-type".into(), content_type.into())];
        out.extend(
            instructions
                .headers()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        Ok(out)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A pause of `d` ± 50 %, so that many clients retrying at once spread out.
pub(crate) fn jitter(d: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    let factor = 0.5 + f64::from(nanos % 1000) / 1000.0;
    d.mul_f64(factor)
}

/// `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>…</Response>`.
fn parse_error(status: u16, text: &str) -> ApiError {
    #[derive(serde::Deserialize)]
    struct Response {
        #[serde(rename = "Errors")]
        errors: Errors,
    }
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(rename = "Error")]
        error: Vec<ErrorXml>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorXml {
        #[serde(rename = "Code")]
        code: String,
        #[serde(rename = "Message", default)]
        message: String,
    }
    match quick_xml::de::from_str::<Response>(text) {
        Ok(r) if !r.errors.error.is_empty() => {
            let first = &r.errors.error[0];
            ApiError {
                code: first.code.clone(),
                message: first.message.clone(),
                status: Some(status),
            }
        }
        _ => ApiError {
            code: "Http".into(),
            message: format!(
                "HTTP {status}: {}",
                text.chars().take(300).collect::<String>()
            ),
            status: Some(status),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_encoded_the_way_python_does() {
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(
            form_encode(&[p("A b", "x*y/z~"), p("Tag.1.Value", "slipway run")]),
            "A+b=x%2Ay%2Fz~&Tag.1.Value=slipway+run"
        );
    }

    #[test]
    fn aws_errors_are_read_with_their_code_and_message() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code><Message>The image id '[ami-1]' does not exist</Message></Error></Errors><RequestID>x</RequestID></Response>"#;
        let e = parse_error(400, xml);
        assert_eq!(e.code, "InvalidAMIID.NotFound");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(!e.is_retryable());
        let throttled = parse_error(
            503,
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors></Response>",
        );
        assert!(throttled.is_retryable());
        assert_eq!(throttled.kind(), ErrorKind::Transient);
        assert_eq!(
            parse_error(502, "<html>bad gateway</html>").kind(),
            ErrorKind::Transient
        );
        assert_eq!(
            parse_error(401, "<Response><Errors><Error><Code>AuthFailure</Code><Message>no</Message></Error></Errors></Response>").kind(),
            ErrorKind::Auth
        );
    }

    #[test]
    fn credentials_never_print_their_secret() {
        let c = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI".into(),
            session_token: Some("token-123".into()),
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("wJalrXUtnFEMI") && !shown.contains("token-123"),
            "{shown}"
        );
    }
}
