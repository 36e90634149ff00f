/** True for an address that listens on every interface; peers cannot connect to it as such. */
export function isWildcard(bindAddress: string): boolean {
  return bindAddress === "0.0.0.0" || bindAddress === "::";
}

/** The host this node names for its ports when nothing else is configured: the bind address, or loopback for a wildcard. */
export function defaultAdvertisedHost(bindAddress: string): string {
  return isWildcard(bindAddress) ? "127.0.0.1" : bindAddress;
}
