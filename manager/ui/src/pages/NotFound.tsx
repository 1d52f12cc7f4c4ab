import { Anchor, Text } from '@mantine/core';
import { Link } from 'react-router';
import { PageHeader } from '../components/common';

export default function NotFound() {
  return (
    <>
      <PageHeader title="Not found" />
      <Text>
        No such page. <Anchor component={Link} to="/">Back to the overview</Anchor>.
      </Text>
    </>
  );
}
