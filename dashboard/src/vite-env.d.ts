/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API's base URL, fixed at build time (vite.config.ts defaults it to the local worker's). */
  readonly VITE_OAKAUTH_API_URL: string;
}
