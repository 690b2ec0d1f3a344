/** The `/` filter being typed. */
import React from "react";
import { Text } from "ink";

export function FilterBar({ text }: { text: string }) {
  return (
    <Text>
      <Text color="cyan">/</Text>
      {text}
      <Text inverse> </Text> <Text dimColor>enter apply · esc cancel · e.g. failed,dead entity:well newest</Text>
    </Text>
  );
}
