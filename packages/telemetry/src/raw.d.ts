/** Text files bundled as strings (`?raw`: Vite in tests, an esbuild plugin in builds). */
declare module '*?raw' {
  const text: string;
  export default text;
}
