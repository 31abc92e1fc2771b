/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API's base URL baked in at build time (Pages deployments); the sign-in screen can override it. */
  readonly VITE_OAKAUTH_API_URL?: string;
}
