// The parts of NLP.js (@nlpjs/basic, MIT) that Kiln uses; the package ships no types.
declare module '@nlpjs/basic' {
  export interface NlpResult {
    intent: string;
    score: number;
    classifications: Array<{ intent: string; score: number }>;
  }
  export interface NlpInstance {
    settings: Record<string, unknown>;
    addLanguage(locale: string): void;
    addDocument(locale: string, utterance: string, intent: string): void;
    train(): Promise<void>;
    process(locale: string, utterance: string): Promise<NlpResult>;
  }
  export interface Container {
    use(plugin: unknown): void;
    get(name: string): unknown;
  }
  const basic: {
    containerBootstrap(settings?: Record<string, unknown>): Promise<Container>;
    Nlp: new (settings: Record<string, unknown>, container?: Container) => NlpInstance;
    LangEn: unknown;
  };
  export default basic;
}
