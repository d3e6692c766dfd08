// Minimal ambient declarations for CommonJS packages without typings; the narrow shapes we use live at the call site.
declare module 'johnny-five' {
  const five: unknown;
  export default five;
}
declare module 'firmata-io' {
  const firmataIo: unknown;
  export default firmataIo;
}
