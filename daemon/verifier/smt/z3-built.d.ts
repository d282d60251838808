// z3-solver ships its Emscripten module factory without types; solver.ts only hands it to
// z3-solver's own low-level init.
declare module 'z3-solver/build/z3-built.js' {
  const initModule: (overrides?: Record<string, unknown>) => Promise<unknown>;
  export default initModule;
}
