"""One MailSubmission from this stack's config, as a Python program writes it.

The component is the TypeScript one, run by Pulumi as a plugin: `pulumi package add ../../plugin` generates the
`pulumi_mail_submission` SDK into sdks/ from its schema. The SSH key and the password stay Pulumi secrets on the
way (the component hashes the password before anything reaches the host).
"""

import pulumi
import pulumi_mail_submission as mail_submission

config = pulumi.Config()
# host, hostKey and privateKey, optionally port, user, bastion: see the repository's README.
connection = config.require_secret_object("connection")

mx = mail_submission.MailSubmission(
    "mx",
    hostname=config.require("hostname"),
    connection=connection,
    certificate=mail_submission.CertificateArgs(mode="ca"),
    users=[mail_submission.UserArgs(name=config.require("login"), password=config.require_secret("password"))],
)

pulumi.export("endpoints", mx.endpoints)
pulumi.export("caCertificatePem", mx.ca_certificate_pem)
# The shape `mail-submission-verify --stack <stack>` reads: each host's outputs under its name.
pulumi.export(
    "hosts",
    {
        "mx": {
            "endpoints": mx.endpoints,
            "certificateSha256": mx.certificate_sha256,
            "certificateNotAfter": mx.certificate_not_after,
            "caCertificatePem": mx.ca_certificate_pem,
            "dnsRecords": mx.dns_records,
            "firewallBackend": mx.firewall_backend,
        }
    },
)
