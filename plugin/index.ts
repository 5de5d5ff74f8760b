/**
 * What Pulumi's component analyzer reads to make the package schema: the component and, through its constructor,
 * the args interfaces generated from our schema (components/args.ts). At run time the plugin loads ../dist.
 */
export { MailSubmission } from "../components/mailSubmission";
