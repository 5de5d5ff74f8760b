export { MailSubmission, type MailSubmissionArgs } from "./mailSubmission";
export { ConfigError, parseHost, parseStack, type StackConfig } from "./config/parse";
export type { HostConfig } from "./config/resolve";
export { hostOutputsSchema, HOST_OUTPUT_NAMES, type HostOutputName } from "./outputs";
