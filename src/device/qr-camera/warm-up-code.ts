/**
 * A pairing code of no use (Wi-Fi "warm-up", a token of no authority), as the station's screen draws one
 * (4 px a module): the fleet decodes it a few times before it watches, as a camera's decoder is firmware
 * ready to run, not code compiled on first sight. The batch's limit warms its decoder the same way.
 */
export const WARM_UP_CODE_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAKQAAACkCAYAAAAZtYVBAAAAAklEQVR4AewaftIAAAY2SURBVO3BQW4sy7LgQDKg/W+ZfYY+SiBRJXXc993M/m' +
  'GtSxzWushhrYsc1rrIYa2LHNa6yGGtixzWushhrYsc1rrIYa2LHNa6yGGtixzWushhrYsc1rrIDx9S+UsVk8pUMalMFZPKGxVPVJ5UvKEyVUwq' +
  'U8Wk8pcqPnFY6yKHtS5yWOsiP3xZxTepvKEyVUwqU8Wk8omKSWVSmSr+UsU3qXzTYa2LHNa6yGGti/zwy1TeqPhLKm+oPKl4UjGpPKn4TSpvVP' +
  'ymw1oXOax1kcNaF/nhP65iUnlSMalMFZPKVDGpTCpvVEwq/5cd1rrIYa2LHNa6yA//cSpPVJ5UPKmYVD6hMlU8UZkqpor/JYe1LnJY6yKHtS7y' +
  'wy+r+E0Vb6j8/1Qxqbyh8qTijYqbHNa6yGGtixzWusgPX6byl1SmikllqphUpopJZaqYVKaKSeWNikllqphU3lC52WGtixzWushhrYvYP/wPUX' +
  'mjYlKZKiaVJxW/SeVJxX/ZYa2LHNa6yGGti/zwIZWp4onKX6p4ojJVTCpTxROVqeKJylQxqUwVT1SmiicqU8Wk8kbFJw5rXeSw1kUOa13khw9V' +
  'TCpvVEwqU8WkMlVMKk9UpopJZaqYVKaKqeKJylTxhspUMVU8UflExW86rHWRw1oXOax1kR8+pDJVTCpPVKaKSWWqmFSmiicVk8onVKaKSWWqmF' +
  'R+k8pUMalMKlPFE5Wp4hOHtS5yWOsih7Uu8sOHKiaVqWJSeaIyVUwqU8Wk8psqnqg8UZkq3lD5hMqTikllqvhNh7UucljrIoe1LvLDH6uYVKaK' +
  'SWWqmFSmiknlL1U8UZlUpoq/VPGkYlL5TYe1LnJY6yKHtS5i//CHVKaKb1KZKiaVqWJSeVLxm1TeqJhUnlQ8UZkqJpWp4psOa13ksNZFDmtd5I' +
  'cPqUwVk8oTlTcqJpWpYlKZKiaVN1Smiknlmyo+UTGpTBVTxaTylw5rXeSw1kUOa13khw9VfFPFE5UnKlPFN1VMKlPFpPKk4onKVDGpPFGZKm52' +
  'WOsih7UucljrIj98SGWqeFIxqTxRmSo+oTJVvKEyVTypmFQmlaliqphUpopJ5Q2VJxV/6bDWRQ5rXeSw1kXsH/6QyhsVn1B5o2JSeaNiUnlS8U' +
  'Rlqnii8psqJpWp4hOHtS5yWOsih7UuYv/wAZUnFZPKVPFE5UnFGyp/qWJS+aaKJypPKt5QeVLxicNaFzmsdZHDWhexf/hFKlPFpDJVfJPKJyp+' +
  'k8pU8U0qU8UbKlPFbzqsdZHDWhc5rHUR+4cPqEwVb6hMFZPKVPEJld9UMalMFW+ovFHxm1Smim86rHWRw1oXOax1EfuHD6g8qZhU3qiYVJ5UTC' +
  'pvVEwqU8UTlTcq3lCZKiaVJxWTylQxqTyp+KbDWhc5rHWRw1oX+eHLKp5UTCpPVN5QeVIxqfymiicqU8UnKiaVSeWJylQxqUwqU8UnDmtd5LDW' +
  'RQ5rXeSHP6byRsU3qUwVTyomlaniDZU3VKaKT1RMKlPFpPKXDmtd5LDWRQ5rXcT+4QMqb1RMKlPFpPJGxU1UpopPqPymijdUpopPHNa6yGGtix' +
  'zWuoj9w3+YypOKSeVJxaTyTRWTylQxqUwVk8pU8YbKVDGpTBW/6bDWRQ5rXeSw1kV++JDKX6r4TSpvVEwqU8WkMlVMKk9U3lCZKt6o+EuHtS5y' +
  'WOsih7Uu8sOXVXyTyhsVk8obFd+k8kRlqphUpopJ5UnFJ1SeVHzTYa2LHNa6yGGti/zwy1TeqPiEylTxRGVS+aaKJypPKiaVJyrfVPFEZar4xG' +
  'GtixzWushhrYv88D+mYlKZKqaKJypTxaQyVUwq31QxqTyp+ITKXzqsdZHDWhc5rHWRH/7jKr5JZaqYVKaKSWWqmFSeqDypmComlScqNzusdZHD' +
  'Whc5rHWRH35ZxV9SeUNlqnhS8aTiExVPVKaKqWJSmSomlaliUvlLh7UucljrIoe1LvLDl6n8JZUnFZPKVDGpvFExqUwVTyqeqDxRmSqmikllqn' +
  'hS8ZcOa13ksNZFDmtdxP5hrUsc1rrIYa2LHNa6yGGtixzWushhrYsc1rrIYa2LHNa6yGGtixzWushhrYsc1rrIYa2LHNa6yP8DskYJgWTEX1EA' +
  'AAAASUVORK5CYII=';
