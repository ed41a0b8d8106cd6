/** How the content of a Flux artifact is collected (build, push, diff-artifact). */
export interface ContentOptions {
  path: string;
  /** undefined: the flux CLI's defaults. */
  ignorePaths?: string[];
  resolveSymlinks: boolean;
}
