import { createTheme, Notification, type CSSVariablesResolver, type MantineColorsTuple } from '@mantine/core';

// Gold (amber) on near-black: the product's default look. Shades checked against axe's
// colour-contrast rule on the dark body colour.
const gold: MantineColorsTuple = [
  '#fff8e1',
  '#ffecb3',
  '#ffe082',
  '#ffd54f',
  '#ffca28',
  '#ffc107',
  '#ffb300',
  '#ffa000',
  '#ff8f00',
  '#ff6f00',
];

export const theme = createTheme({
  primaryColor: 'gold',
  primaryShade: { light: 7, dark: 5 },
  autoContrast: true,
  luminanceThreshold: 0.4,
  colors: { gold },
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  fontFamilyMonospace: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
  defaultRadius: 'sm',
  focusRing: 'auto',
  components: {
    Notification: Notification.extend({
      defaultProps: { closeButtonProps: { 'aria-label': 'Close notification' } },
      // The default description colour (dimmed) is too faint on the dark notification.
      styles: { description: { color: '#ffe082' } },
    }),
  },
});

export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: {},
  dark: {
    '--mantine-color-body': '#111214',
    '--mantine-color-text': '#ffd54f',
    '--mantine-color-dimmed': '#d4b062',
    '--mantine-color-anchor': '#ffe082',
    '--mantine-color-placeholder': '#a88d4f',
  },
});
