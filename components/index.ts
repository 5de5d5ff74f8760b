export { MailSubmission, type MailSubmissionArgs } from "./mailSubmission";
export { ConfigError, parseHost, parseStack } from "./config";
export type { HostConfig, StackConfig } from "./schema";
