// Files embedded into the binary: Bun returns their path ($bunfs in a compiled binary).
declare module "*/standalone.js" {
  const path: string;
  export default path;
}
declare module "*.sql" {
  const text: string;
  export default text;
}
