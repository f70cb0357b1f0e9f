// Lets plain `tsc -p tsconfig.web.json` resolve .vue imports; vue-tsc checks the real components.
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}
