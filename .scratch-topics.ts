export const WIFI = [
  "My home wifi keeps dropping every evening, the router light turns orange.",
  "An orange light usually means the router lost the connection to your provider. Does the modem stay online when the wifi drops?",
  "The modem looks fine, only the wifi goes down. Laptops and phones all disconnect.",
  "Then it is probably channel interference or overheating. Log into the router admin page and switch the 2.4 GHz band to channel 1, 6 or 11.",
  "I changed it to channel 6 and moved the router off the shelf. Should I also update the firmware?",
  "Yes, update the router firmware from the admin page, then reboot. If the drops continue, a mesh system or a new router may be the fix.",
  "Okay, the firmware update is running now. Fingers crossed the connection holds tonight.",
]
export const GIFT = [
  "My mom turns sixty next month and I have no idea what gift to get her.",
  "What does she enjoy? Gardening, cooking, books, travel? A personal gift usually means more at a milestone birthday.",
  "She loves gardening and old family photos.",
  "You could make a photo book of family pictures through the decades, or give her a garden bench engraved with the date.",
  "The photo book is a great idea. Which service prints good quality albums?",
  "Several services print lay-flat photo books with thick pages; order at least two weeks before her birthday so shipping is not a problem.",
]
export const RUST = [
  "I'm learning Rust and the borrow checker says I cannot borrow `items` as mutable because it is also borrowed as immutable.",
  "You are probably holding a reference from `items.iter()` or `&items[0]` while calling a method that mutates the vector. The immutable borrow must end first.",
  "Yes, I keep `let first = &items[0];` and then call `items.push(x)`. Why is that an error?",
  "Pushing may reallocate the vector, which would leave `first` dangling. Copy or clone the value first, or push before taking the reference.",
  "Cloning works. Is there a way to avoid clones in a loop that modifies the vector?",
  "Iterate by index, or collect the changes into a second vector and apply them after the loop. `retain` and `drain` also mutate without overlapping borrows.",
  "Makes sense, the lifetimes of the borrows are clearer to me now.",
]
export const TAXES = [
  "When is the deadline to file my income tax return if I moved abroad last year?",
  "If you are a US citizen living abroad on the due date, you get an automatic two month extension to June 15 to file the return, but interest on any tax owed still starts in April.",
  "Do I need to report my foreign salary too?",
  "Yes, citizens report worldwide income. You can exclude foreign earned income with Form 2555 or claim a foreign tax credit for tax paid abroad.",
  "Which is better, the exclusion or the foreign tax credit?",
  "If the foreign country taxes your salary at a higher rate than the US, the tax credit often leaves you owing nothing and carries excess credits forward. Otherwise the exclusion may be simpler.",
]
export const GARDEN = [
  "The tomato plants on my balcony have yellow leaves at the bottom. What is wrong with them?",
  "Lower leaves yellowing on tomatoes is often nitrogen deficiency or overwatering. Are the pots draining well, and how often do you water?",
  "I water every day and the pots have no drainage holes.",
  "That is likely the problem: the roots sit in water. Repot the tomatoes into containers with drainage holes and water only when the top inch of soil is dry.",
  "Should I fertilize them after repotting?",
  "Wait a week after repotting, then feed with a balanced tomato fertilizer every two weeks. Remove the yellow leaves so the plants put energy into new growth.",
]
export const MOVIE = [
  "anyone want to see the new dune movie this weekend?",
  "yes! imax or regular?",
  "imax for sure, the sandworm scenes need the big screen",
  "saturday evening showing at 7? I'll book the tickets",
  "7 works, get seats in the middle row",
  "booked 3 tickets, middle row, imax theater downtown",
]
export const LAPTOP = [
  "thinking about buying a new laptop for photo editing, budget around 1500",
  "get something with a color accurate screen and at least 32gb ram, lightroom eats memory",
  "macbook air or a windows laptop with a dedicated gpu?",
  "for lightroom the macbook pro 14 with m3 is great, the air throttles on long exports",
  "the pro is over budget though. refurbished maybe?",
  "refurbished macbook pro from apple comes with full warranty, usually 15 percent cheaper",
  "nice, checking the refurbished store now",
]
export const DOG = [
  "our puppy keeps chewing the furniture when we leave the house",
  "how old is the puppy? chewing peaks around teething, 4 to 6 months",
  "she is five months, a labrador",
  "give her frozen chew toys for teething and crate train her for the hours you are away",
  "the crate makes her whine though",
  "start with short crate sessions with treats and a blanket, then extend slowly; puppies learn the crate is safe",
]
export const MOVE = [
  "we are moving apartments on the 30th, need to book a moving van",
  "how many rooms? a two bedroom apartment usually fits in a 15 foot truck",
  "two bedrooms plus a lot of books. should we hire movers instead?",
  "movers for the heavy furniture and books save your back; pack the boxes yourself to cut the cost",
  "ok, I'll get quotes from three moving companies and start packing boxes this week",
  "label every box by room, it makes unpacking in the new apartment much faster",
]
