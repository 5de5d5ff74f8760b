/**
 * One MailSubmission from this stack's own config, as a library user writes it. Any value could as well be another
 * resource's output (a VM's address, say): the component validates them all before it registers anything. It
 * keeps the SSH key secret itself and hashes the password in this process, so config.require reads them as they
 * were stored, with `pulumi config set --secret`.
 */
import * as pulumi from "@pulumi/pulumi";
import { HOST_OUTPUT_NAMES, MailSubmission, type Connection } from "mail-submission";

const config = new pulumi.Config();

const mx = new MailSubmission("mx", {
  hostname: config.require("hostname"),
  // host, hostKey and privateKey (or privateKeyFile), optionally port, user, bastion: see the package's README.
  connection: config.requireObject<Connection>("connection"),
  certificate: { mode: "ca" },
  users: [{ name: config.require("login"), password: config.require("password") }],
});

export const endpoints = mx.endpoints;
export const caCertificatePem = mx.caCertificatePem;
/** The shape `mail-submission-verify --stack <stack>` reads: each host's outputs under its name. */
export const hosts = { mx: Object.fromEntries(HOST_OUTPUT_NAMES.map((name) => [name, mx[name]])) };
