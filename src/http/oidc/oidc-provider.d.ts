// oidc-provider ships no types; the few entry points Gatehouse uses, kept loose on purpose.
declare module "oidc-provider" {
  // biome-ignore lint/suspicious/noExplicitAny: untyped third-party module
  type Loose = any;
  const Provider: Loose;
  export default Provider;
  export const interactionPolicy: Loose;
  export const errors: Loose;
}
