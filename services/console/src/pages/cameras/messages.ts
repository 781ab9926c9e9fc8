/** The cameras area's texts, pt-BR first; en must have the same keys (checked by tsc). */
export const ptBR = {
  title: "Câmeras",
};

export const en: typeof ptBR = {
  title: "Cameras",
};
