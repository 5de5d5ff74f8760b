/**
 * The npm package's API: the MailSubmission component with its args and config types, and verify's client-side
 * checks of deployed endpoints. Importing it runs nothing and reads no stack config: the stack program
 * (components/program.ts) is this project's own and does not ship.
 */
export { MailSubmission } from "./components/mailSubmission";
// The args interfaces (MailSubmissionArgs, Connection, Certificate, User, …), generated from the schema.
export type * from "./components/args";
export { ConfigError, parseHost, parseStack, type StackConfig } from "./components/config/parse";
export type { HostConfig } from "./components/config/resolve";
export { hostOutputsSchema, HOST_OUTPUT_NAMES, type HostOutputName } from "./components/outputs";
export { verifyAll, verifyTarget } from "./verify/run";
export { parseStackHosts, readStackHosts } from "./verify/stack";
export { counts, exitCode, renderJson, renderTable, summary } from "./verify/report";
export { UsageError } from "./verify/args";
export { MAILBOX_PORTS, SERVICE_PORTS, type Credentials, type MailboxService, type Options, type Row, type Service, type Status, type Target } from "./verify/types";
