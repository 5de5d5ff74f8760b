/**
 * Preloaded by Pulumi.yaml's `nodeargs` (`--require`), before Pulumi's runner loads its SDK and this program:
 * Node.js's compile cache keeps the compiled code of every module loaded after it (in the OS's temp directory,
 * keyed by each file's content), so every `pulumi up` after the first skips compiling the Pulumi SDK, the
 * providers' SDKs and our code again: about a third of the program's load time (the bench's no-op breakdown).
 */
import { enableCompileCache } from "node:module";

enableCompileCache();
